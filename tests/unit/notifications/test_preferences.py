from datetime import datetime, time, timezone

import pytest

from services.notifications.domain.preferences import (
    InvalidPreferences,
    Preferences,
    as_dict,
    channels_for,
    deliver_at,
    parse_preferences,
    parse_quiet_hours,
)


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def quiet(start="22:00", end="07:00", zone="Europe/London"):
    return Preferences(quiet_hours=parse_quiet_hours({"start": start, "end": end, "timezone": zone}))


# Quiet hours, with the clock passed in.

def test_outside_quiet_hours_delivers_now():
    now = utc(2025, 1, 15, 12, 0)

    assert deliver_at(now, quiet(), "normal") == now


def test_inside_quiet_hours_before_midnight_waits_for_the_next_morning():
    assert deliver_at(utc(2025, 1, 15, 23, 30), quiet(), "normal") == utc(2025, 1, 16, 7, 0)


def test_inside_quiet_hours_after_midnight_waits_for_the_same_morning():
    assert deliver_at(utc(2025, 1, 16, 3, 0), quiet(), "normal") == utc(2025, 1, 16, 7, 0)


def test_window_starts_inclusive_and_ends_exclusive():
    assert deliver_at(utc(2025, 1, 15, 22, 0), quiet(), "normal") == utc(2025, 1, 16, 7, 0)
    assert deliver_at(utc(2025, 1, 16, 7, 0), quiet(), "normal") == utc(2025, 1, 16, 7, 0)
    assert deliver_at(utc(2025, 1, 15, 21, 59), quiet(), "normal") == utc(2025, 1, 15, 21, 59)


def test_window_within_one_day():
    prefs = quiet(start="13:00", end="14:30", zone="UTC")

    assert deliver_at(utc(2025, 1, 15, 13, 45), prefs, "normal") == utc(2025, 1, 15, 14, 30)
    assert deliver_at(utc(2025, 1, 15, 23, 0), prefs, "normal") == utc(2025, 1, 15, 23, 0)


def test_quiet_hours_are_in_the_persons_time_zone():
    # 04:00 UTC is 23:00 the day before in New York (EST, UTC-5): quiet until 07:00 EST.
    prefs = quiet(zone="America/New_York")

    assert deliver_at(utc(2025, 1, 16, 4, 0), prefs, "normal") == utc(2025, 1, 16, 12, 0)
    assert deliver_at(utc(2025, 1, 16, 13, 0), prefs, "normal") == utc(2025, 1, 16, 13, 0)


def test_spring_forward_in_london_ends_at_seven_summer_time():
    # Clocks go forward at 01:00 UTC on 30 March 2025: 07:00 BST is 06:00 UTC.
    assert deliver_at(utc(2025, 3, 29, 23, 0), quiet(), "normal") == utc(2025, 3, 30, 6, 0)


def test_after_spring_forward_the_window_is_read_in_summer_time():
    # 06:15 UTC is 07:15 BST: already outside, although 06:15 GMT would be inside.
    now = utc(2025, 3, 30, 6, 15)

    assert deliver_at(now, quiet(), "normal") == now


def test_fall_back_in_london_ends_at_seven_winter_time():
    # Clocks go back at 01:00 UTC on 26 October 2025: 23:30 BST tonight, 07:00 GMT = 07:00 UTC.
    assert deliver_at(utc(2025, 10, 25, 22, 30), quiet(), "normal") == utc(2025, 10, 26, 7, 0)


def test_end_time_skipped_by_spring_forward_resolves_later_not_earlier():
    # 01:30 does not exist in London on 30 March 2025; it resolves to 02:30 BST (01:30 UTC).
    prefs = quiet(start="23:00", end="01:30")

    assert deliver_at(utc(2025, 3, 29, 23, 30), prefs, "normal") == utc(2025, 3, 30, 1, 30)


def test_repeated_hour_after_fall_back_does_not_reopen_an_ended_window():
    prefs = quiet(start="22:00", end="01:30")
    # 00:10 UTC is 01:10 BST, the first pass: quiet until 01:30 BST (00:30 UTC).
    assert deliver_at(utc(2025, 10, 26, 0, 10), prefs, "normal") == utc(2025, 10, 26, 0, 30)
    # 01:10 UTC is 01:10 GMT, the second pass: the window ended at 00:30 UTC.
    now = utc(2025, 10, 26, 1, 10)
    assert deliver_at(now, prefs, "normal") == now


def test_urgent_ignores_quiet_hours():
    now = utc(2025, 1, 15, 23, 30)

    assert deliver_at(now, quiet(), "urgent") == now


def test_no_preferences_or_no_quiet_hours_delivers_now():
    now = utc(2025, 1, 15, 23, 30)

    assert deliver_at(now, None, "normal") == now
    assert deliver_at(now, Preferences(), "normal") == now


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        deliver_at(datetime(2025, 1, 15, 23, 30), quiet(), "normal")  # noqa: DTZ001  naive on purpose


# Validation.

def test_parse_quiet_hours():
    parsed = parse_quiet_hours({"start": "22:00", "end": "07:30", "timezone": "Europe/London"})

    assert (parsed.start, parsed.end, parsed.timezone.key) == (time(22), time(7, 30), "Europe/London")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"start": "25:00", "end": "07:00", "timezone": "UTC"}, "quiet_hours.start"),
        ({"start": "10pm", "end": "07:00", "timezone": "UTC"}, "quiet_hours.start"),
        ({"start": "22:00", "end": "7:00", "timezone": "UTC"}, "quiet_hours.end"),
        ({"start": "22:00", "end": None, "timezone": "UTC"}, "quiet_hours.end"),
        ({"start": "22:00", "end": "22:00", "timezone": "UTC"}, "quiet_hours.end"),
        ({"start": "22:00", "end": "07:00", "timezone": "Mars/Olympus"}, "quiet_hours.timezone"),
        ({"start": "22:00", "end": "07:00", "timezone": "../../etc/passwd"}, "quiet_hours.timezone"),
        ({"start": "22:00", "end": "07:00"}, "quiet_hours.timezone"),
        ("22:00-07:00", "quiet_hours"),
    ],
)
def test_bad_quiet_hours_name_the_field(raw, field):
    with pytest.raises(InvalidPreferences) as caught:
        parse_quiet_hours(raw)

    assert list(caught.value.errors) == [field]


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(InvalidPreferences) as caught:
        parse_preferences({
            "channels": {"sms": True, "inbox": "yes"},
            "email": "not an address",
            "quiet_hours": {"start": "x", "end": "07:00", "timezone": "Nowhere"},
        })

    assert set(caught.value.errors) == {
        "channels.sms", "channels.inbox", "email", "quiet_hours.start", "quiet_hours.timezone"
    }


def test_email_channel_switched_on_needs_an_address():
    with pytest.raises(InvalidPreferences) as caught:
        parse_preferences({"channels": {"email": True}})

    assert list(caught.value.errors) == ["email"]


def test_preferences_round_trip_through_the_wire_shape():
    raw = {
        "channels": {"inbox": True, "email": False},
        "email": "sam@example.org",
        "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/London"},
    }

    assert as_dict(parse_preferences(raw)) == raw


def test_absent_fields_take_defaults():
    assert as_dict(parse_preferences({})) == {
        "channels": {"inbox": True, "email": False}, "email": None, "quiet_hours": None
    }


def test_what_was_read_can_be_sent_back():
    for raw in ({}, {"email": "bo@clinic.example"}, {"channels": {"email": False}}):
        read = as_dict(parse_preferences(raw))
        assert as_dict(parse_preferences(read)) == read


def test_an_address_alone_turns_email_on():
    assert as_dict(parse_preferences({"email": "bo@clinic.example"}))["channels"]["email"] is True


# Channels.

def test_channels_follow_the_switches():
    prefs = parse_preferences({"channels": {"inbox": True, "email": True}, "email": "a@b.org"})

    assert channels_for(prefs, "normal") == ["inbox", "email"]


def test_email_needs_an_address():
    assert channels_for(Preferences(), "normal") == ["inbox"]


def test_inbox_cannot_be_switched_off_for_urgent():
    prefs = parse_preferences({"channels": {"inbox": False, "email": False}})

    assert channels_for(prefs, "normal") == []
    assert channels_for(prefs, "urgent") == ["inbox"]
