import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest

from services.notifications.domain.signing import is_valid_pattern, matches, sign, verify

SECRET = "whsec-test-secret"
BODY = b'{"id":"evt-1","type":"stepwise.goal.achieved.v1","data":{"goal_id":"goal-1"}}'
SENT = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)


def test_documented_test_vector():
    header = sign("s3cret", b'{"hello":"world"}', 1741000000)

    assert header == (
        "t=1741000000,v1=8333ffc87084bce3900d8ba610bdae6fe841ba90703785e57bd32dd8cbdc3565"
    )


def test_header_is_hmac_sha256_of_timestamp_dot_body():
    t = int(SENT.timestamp())
    expected = hmac.new(SECRET.encode(), f"{t}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert sign(SECRET, BODY, SENT) == f"t={t},v1={expected}"


def test_round_trip():
    header = sign(SECRET, BODY, SENT)

    assert verify(SECRET, BODY, header, SENT + timedelta(seconds=3))


def test_tampered_body_is_rejected():
    header = sign(SECRET, BODY, SENT)

    assert not verify(SECRET, BODY.replace(b"goal-1", b"goal-2"), header, SENT)


def test_wrong_secret_is_rejected():
    header = sign(SECRET, BODY, SENT)

    assert not verify("another-secret", BODY, header, SENT)


def test_timestamp_cannot_be_swapped_for_a_fresh_one():
    header = sign(SECRET, BODY, SENT)
    later = SENT + timedelta(hours=1)
    replayed = header.replace(f"t={int(SENT.timestamp())}", f"t={int(later.timestamp())}")

    assert not verify(SECRET, BODY, replayed, later)


def test_stale_timestamp_is_rejected():
    header = sign(SECRET, BODY, SENT)

    assert verify(SECRET, BODY, header, SENT + timedelta(seconds=300))
    assert not verify(SECRET, BODY, header, SENT + timedelta(seconds=301))
    assert not verify(SECRET, BODY, header, SENT - timedelta(seconds=301))
    assert verify(SECRET, BODY, header, SENT + timedelta(seconds=900), tolerance_seconds=900)


def test_during_a_rotation_the_header_carries_the_new_signature_then_the_previous_one():
    header = sign(SECRET, BODY, SENT, also=["old-secret-0123456789"])
    new_only, old_only = sign(SECRET, BODY, SENT), sign("old-secret-0123456789", BODY, SENT)

    assert header == f"{new_only},{old_only.split(',')[1]}"
    assert verify("old-secret-0123456789", BODY, header, SENT)
    assert verify(SECRET, BODY, header, SENT)
    assert not verify("a-third-secret-0123456789", BODY, header, SENT)
    with pytest.raises(ValueError):
        sign(SECRET, BODY, SENT, also=[""])


@pytest.mark.parametrize(
    "header",
    ["", "garbage", "t=abc,v1=00", "v1=00", f"t={int(SENT.timestamp())}", "t=,v1=",
     f"t={int(SENT.timestamp())},v0=deadbeef"],
)
def test_malformed_headers_are_rejected(header):
    assert not verify(SECRET, BODY, header, SENT)


def test_signing_needs_a_secret():
    with pytest.raises(ValueError):
        sign("", BODY, SENT)


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("goal.*", "goal.achieved", True),
        ("goal.*", "goal", False),
        ("goal.*", "goal.a.b", False),
        ("goal.*", "questionnaire.due", False),
        ("*.due", "questionnaire.due", True),
        ("#", "goal.achieved", True),
        ("#", "risk.flagged", True),
        ("goal.#", "goal", True),
        ("goal.#", "goal.milestone_reached", True),
        ("goal.#", "goals.achieved", False),
        ("#.flagged", "risk.flagged", True),
        ("#.flagged", "risk.flag", False),
        ("*.#.*", "goal", False),
        ("*.#.*", "goal.achieved", True),
        ("goal.achieved", "goal.achieved", True),
        ("goal.achieved", "goal.achieved_x", False),
        ("goal", "goal.achieved", False),
    ],
)
def test_topic_pattern_matching(pattern, key, expected):
    assert matches(pattern, key) is expected


@pytest.mark.parametrize(
    ("pattern", "valid"),
    [("goal.*", True), ("#", True), ("questionnaire.#", True), ("risk.flagged", True),
     ("", False), ("goal.", False), ("goal*", False), ("go#al.x", False), ("a..b", False)],
)
def test_pattern_validation(pattern, valid):
    assert is_valid_pattern(pattern) is valid
