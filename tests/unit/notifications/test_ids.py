"""Derived ids: the timetable entry for a look at a delivery or an alert at a time."""
from datetime import datetime, timedelta, timezone

from services.notifications.domain.ids import look

AT = datetime(2025, 3, 3, 10, 0, 0, 123_456, tzinfo=timezone.utc)


def test_a_look_is_named_by_its_subject_and_its_time_to_the_millisecond():
    assert look("delivery-1", AT) == look("delivery-1", AT)
    assert look("delivery-1", AT) != look("delivery-1", AT + timedelta(milliseconds=1))
    assert look("delivery-1", AT) != look("delivery-2", AT)
    # The database keeps milliseconds: a time read back names the entry it was put under.
    assert look("delivery-1", AT) == look("delivery-1", AT.replace(microsecond=123_000))
    # The same instant written in another zone is the same look.
    assert look("delivery-1", AT) == look("delivery-1", AT.astimezone(timezone(timedelta(hours=-5))))
