"""Assignment schedules: occurrences, the one open at a moment, due and overdue times."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.questionnaires.domain import (
    Schedule, due_dates, next_to_remind, occurrence_at, status,
)
from services.questionnaires.domain.schedule import occurrence

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
WEEKLY = Schedule(starts_at=MONDAY, every_days=7)


def test_weekly_occurrences_open_every_seven_days():
    first, second = occurrence(WEEKLY, 0), occurrence(WEEKLY, 1)
    assert (first.opens_at, first.closes_at) == (MONDAY, MONDAY + 7 * DAY)
    assert (second.opens_at, second.due_at) == (MONDAY + 7 * DAY, MONDAY + 7 * DAY)


def test_due_at_opening_and_overdue_two_days_later():
    first = occurrence(WEEKLY, 0)
    assert first.due_at == MONDAY
    assert first.overdue_at == MONDAY + 2 * DAY


def test_a_submission_fulfils_the_occurrence_open_at_that_moment():
    assert occurrence_at(WEEKLY, MONDAY).index == 0
    assert occurrence_at(WEEKLY, MONDAY + 7 * DAY - timedelta(microseconds=1)).index == 0
    assert occurrence_at(WEEKLY, MONDAY + 7 * DAY).index == 1


def test_nothing_is_open_before_the_start():
    assert occurrence_at(WEEKLY, MONDAY - timedelta(seconds=1)) is None


def test_the_end_stops_new_occurrences_and_closes_the_open_one():
    schedule = Schedule(starts_at=MONDAY, every_days=7, ends_at=MONDAY + 10 * DAY)
    last = occurrence(schedule, 1)
    assert (last.opens_at, last.closes_at) == (MONDAY + 7 * DAY, MONDAY + 10 * DAY)
    assert occurrence(schedule, 2) is None
    assert occurrence_at(schedule, MONDAY + 10 * DAY) is None
    assert occurrence(schedule, 1).overdue_at == MONDAY + 9 * DAY
    # When the grace runs past the end, the occurrence closes before it is overdue.
    short = Schedule(starts_at=MONDAY, every_days=7, ends_at=MONDAY + 8 * DAY)
    assert occurrence(short, 1).overdue_at is None


def test_an_end_exactly_on_an_opening_makes_no_new_occurrence():
    schedule = Schedule(starts_at=MONDAY, every_days=7, ends_at=MONDAY + 14 * DAY)
    assert occurrence(schedule, 1).closes_at == MONDAY + 14 * DAY
    assert occurrence(schedule, 2) is None


def test_a_one_off_assignment_stays_open_until_answered():
    once = Schedule(starts_at=MONDAY)
    only = occurrence(once, 0)
    assert only.closes_at is None and only.overdue_at == MONDAY + 2 * DAY
    assert occurrence(once, 1) is None
    assert occurrence_at(once, MONDAY + 400 * DAY).index == 0


def test_a_one_off_assignment_with_an_end():
    once = Schedule(starts_at=MONDAY, ends_at=MONDAY + 5 * DAY)
    assert occurrence(once, 0).closes_at == MONDAY + 5 * DAY
    assert occurrence_at(once, MONDAY + 5 * DAY) is None


def test_a_daily_diary_never_goes_overdue_it_closes():
    daily = Schedule(starts_at=MONDAY, every_days=1)
    first = occurrence(daily, 0)
    assert first.overdue_at is None
    assert status(first, MONDAY + 12 * timedelta(hours=1), fulfilled=False) == "due"
    assert status(first, MONDAY + DAY, fulfilled=False) == "missed"


def test_a_configurable_grace():
    schedule = Schedule(starts_at=MONDAY, every_days=14, grace=timedelta(days=5))
    assert occurrence(schedule, 0).overdue_at == MONDAY + 5 * DAY


def test_status_through_an_occurrence():
    first = occurrence(WEEKLY, 0)
    assert status(first, MONDAY - DAY, fulfilled=False) == "upcoming"
    assert status(first, MONDAY, fulfilled=False) == "due"
    assert status(first, MONDAY + 2 * DAY, fulfilled=False) == "overdue"
    assert status(first, MONDAY + 7 * DAY, fulfilled=False) == "missed"
    assert status(first, MONDAY + 7 * DAY, fulfilled=True) == "completed"


def test_the_next_occurrence_to_remind_follows_the_last_one_handled():
    assert next_to_remind(WEEKLY, MONDAY - DAY).index == 0  # made before it starts
    assert next_to_remind(WEEKLY, MONDAY + DAY).index == 0  # made while the first is open
    assert next_to_remind(WEEKLY, MONDAY + DAY, after=0).index == 1
    assert next_to_remind(WEEKLY, MONDAY + 7 * DAY, after=0).index == 1


def test_occurrences_that_closed_meanwhile_are_skipped_for_the_one_open_now():
    assert next_to_remind(WEEKLY, MONDAY + 23 * DAY, after=0).index == 3
    backdated = next_to_remind(WEEKLY, MONDAY + 15 * DAY)
    assert backdated.index == 2 and backdated.due_at == MONDAY + 14 * DAY


def test_nothing_is_reminded_after_the_end_or_a_one_offs_only_occurrence():
    ended = Schedule(starts_at=MONDAY, every_days=7, ends_at=MONDAY + 10 * DAY)
    assert next_to_remind(ended, MONDAY + 8 * DAY, after=0).index == 1
    assert next_to_remind(ended, MONDAY + 8 * DAY, after=1) is None
    assert next_to_remind(ended, MONDAY + 11 * DAY) is None
    once = Schedule(starts_at=MONDAY)
    assert next_to_remind(once, MONDAY + 100 * DAY).index == 0  # open until answered
    assert next_to_remind(once, MONDAY, after=0) is None


def test_the_occurrence_key_is_stable():
    assert occurrence(WEEKLY, 3).key("a1") == "a1:3"
    assert occurrence_at(WEEKLY, MONDAY + 22 * DAY).key("a1") == "a1:3"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"starts_at": datetime(2026, 3, 2, 9, 0)},  # noqa: DTZ001  naive on purpose
        {"starts_at": MONDAY, "every_days": 0},
        {"starts_at": MONDAY, "every_days": 1.5},
        {"starts_at": MONDAY, "every_days": True},
        {"starts_at": MONDAY, "ends_at": MONDAY},
        {"starts_at": MONDAY, "grace": timedelta(0)},
    ],
)
def test_invalid_schedules(kwargs):
    with pytest.raises(ValueError):
        Schedule(**kwargs)


def test_naive_moments_are_refused():
    with pytest.raises(ValueError):
        occurrence_at(WEEKLY, datetime(2026, 3, 2, 9, 0))  # noqa: DTZ001  naive on purpose


@settings(max_examples=200, deadline=None)
@given(
    every_days=st.integers(1, 30),
    offset_minutes=st.integers(0, 60 * 24 * 400),
    span_days=st.one_of(st.none(), st.integers(1, 300)),
)
def test_exactly_one_occurrence_is_open_at_any_moment_in_the_schedule(every_days, offset_minutes, span_days):
    schedule = Schedule(starts_at=MONDAY, every_days=every_days, ends_at=MONDAY + span_days * DAY if span_days else None)
    moment = MONDAY + timedelta(minutes=offset_minutes)
    found = occurrence_at(schedule, moment)
    if schedule.ends_at is not None and moment >= schedule.ends_at:
        assert found is None
        return
    assert found is not None and found.is_open(moment)
    neighbours = [occurrence(schedule, found.index + step) for step in (-1, 1)]
    assert not any(o is not None and o.is_open(moment) for o in neighbours)
    assert found.opens_at == MONDAY + found.index * every_days * DAY


def test_due_dates_run_from_the_start_to_the_next_one_after_now_keeping_the_latest():
    now = MONDAY + 15 * DAY
    assert due_dates(WEEKLY, now, 10) == [MONDAY, MONDAY + 7 * DAY, MONDAY + 14 * DAY, MONDAY + 21 * DAY]
    assert due_dates(WEEKLY, now, 2) == [MONDAY + 14 * DAY, MONDAY + 21 * DAY]
    assert due_dates(WEEKLY, MONDAY - DAY, 10) == [MONDAY], "before the start: the first"
    ended = Schedule(starts_at=MONDAY, every_days=7, ends_at=MONDAY + 10 * DAY)
    assert due_dates(ended, now, 10) == [MONDAY, MONDAY + 7 * DAY], "none after the end"
    once = Schedule(starts_at=MONDAY)
    assert due_dates(once, now, 10) == due_dates(once, MONDAY - DAY, 10) == [MONDAY]
