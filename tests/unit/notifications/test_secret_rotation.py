"""Which secrets sign a webhook delivery while and after a rotation (domain.secret_rotation)."""
from datetime import datetime, timedelta, timezone

from services.notifications.domain.secret_rotation import (
    Rotation,
    next_number,
    previous_valid_until,
    rotation_id,
    signing_secrets,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)


def rotation(number, secret, minutes, overlap_minutes):
    at = T0 + timedelta(minutes=minutes)
    return Rotation(number, secret, at, at + timedelta(minutes=overlap_minutes))


def test_without_rotations_the_first_secret_signs_alone():
    assert signing_secrets("first", [], T0) == ["first"]
    assert previous_valid_until([], T0) is None
    assert next_number([]) == 1


def test_both_secrets_sign_during_the_overlap_the_new_one_first_then_the_new_one_alone():
    rotations = [rotation(1, "second", 10, 60)]

    assert signing_secrets("first", rotations, T0 + timedelta(minutes=10)) == ["second", "first"]
    assert signing_secrets("first", rotations, T0 + timedelta(minutes=69)) == ["second", "first"]
    assert previous_valid_until(rotations, T0 + timedelta(minutes=69)) == T0 + timedelta(minutes=70)
    assert signing_secrets("first", rotations, T0 + timedelta(minutes=70)) == ["second"]
    assert previous_valid_until(rotations, T0 + timedelta(minutes=70)) is None


def test_a_second_rotation_during_an_overlap_ends_the_oldest_secret_at_once():
    rotations = [rotation(2, "third", 20, 60), rotation(1, "second", 10, 60)]

    assert signing_secrets("first", rotations, T0 + timedelta(minutes=21)) == ["third", "second"]
    assert next_number(rotations) == 3


def test_no_overlap_switches_at_once():
    assert signing_secrets("first", [rotation(1, "second", 10, 0)], T0 + timedelta(minutes=10)) == ["second"]


def test_concurrent_rotations_claim_one_id():
    assert rotation_id("sub-1", 1) == rotation_id("sub-1", next_number([]))
    assert rotation_id("sub-1", 1) != rotation_id("sub-2", 1)
