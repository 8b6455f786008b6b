from datetime import datetime, timedelta, timezone

import pytest

from services.notifications.domain.delivery import (
    DEFAULT_RETRY,
    Outcome,
    RetryPolicy,
    classify_http,
    classify_smtp,
    next_attempt_at,
    should_disable,
)

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)


def test_default_schedule_grows_then_caps_at_ten_minutes():
    delays = [DEFAULT_RETRY.delay(n).total_seconds() for n in range(1, 10)]

    assert delays == [1, 5, 25, 125, 600, 600, 600, 600, 600]


def test_schedule_is_configurable():
    policy = RetryPolicy(base_seconds=2, factor=3, cap_seconds=60, max_attempts=5)

    assert [policy.delay(n).total_seconds() for n in range(1, 6)] == [2, 6, 18, 54, 60]


def test_next_attempt_is_the_delay_after_now():
    assert next_attempt_at(1, NOW) == NOW + timedelta(seconds=1)
    assert next_attempt_at(3, NOW) == NOW + timedelta(seconds=25)


def test_no_next_attempt_after_the_last():
    policy = RetryPolicy(max_attempts=3)

    assert next_attempt_at(2, NOW, policy) == NOW + timedelta(seconds=5)
    assert next_attempt_at(3, NOW, policy) is None
    assert next_attempt_at(DEFAULT_RETRY.max_attempts, NOW) is None


def test_attempts_are_numbered_from_one():
    with pytest.raises(ValueError):
        DEFAULT_RETRY.delay(0)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.DELIVERED), (202, Outcome.DELIVERED), (204, Outcome.DELIVERED),
        (None, Outcome.RETRY), (500, Outcome.RETRY), (502, Outcome.RETRY), (503, Outcome.RETRY),
        (408, Outcome.RETRY), (425, Outcome.RETRY), (429, Outcome.RETRY),
        (400, Outcome.REJECTED), (401, Outcome.REJECTED), (404, Outcome.REJECTED),
        (410, Outcome.REJECTED), (301, Outcome.REJECTED), (302, Outcome.REJECTED),
    ],
)
def test_http_classification(status, outcome):
    assert classify_http(status) is outcome


@pytest.mark.parametrize(
    ("code", "outcome"),
    [(250, Outcome.DELIVERED), (None, Outcome.RETRY), (421, Outcome.RETRY),
     (451, Outcome.RETRY), (550, Outcome.REJECTED), (553, Outcome.REJECTED)],
)
def test_smtp_classification(code, outcome):
    assert classify_smtp(code) is outcome


def test_disable_at_the_threshold_not_before():
    assert not should_disable(0, threshold=3)
    assert not should_disable(2, threshold=3)
    assert should_disable(3, threshold=3)
    assert should_disable(4, threshold=3)


def test_default_threshold_is_ten_failed_deliveries():
    assert not should_disable(9)
    assert should_disable(10)


def test_threshold_must_be_positive():
    with pytest.raises(ValueError):
        should_disable(0, threshold=0)
