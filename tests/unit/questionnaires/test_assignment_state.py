"""An assignment's state at a moment, from its schedule, fulfilments and a cancellation."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.questionnaires.domain import Schedule
from services.questionnaires.domain.assignments import assignment_state

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
WEEKLY = Schedule(START, every_days=7)
ONCE = Schedule(START, ends_at=START + timedelta(days=3))


def nothing_answered(index: int) -> bool:
    return False


def test_before_the_start_it_is_upcoming_and_next_due_at_the_start():
    state = assignment_state(WEEKLY, START - timedelta(hours=1), nothing_answered)
    assert state.status == "upcoming" and state.current is None
    assert state.next.index == 0 and state.next_due_at == START


def test_due_then_overdue_while_unanswered():
    due = assignment_state(WEEKLY, START + timedelta(hours=1), nothing_answered)
    assert (due.status, due.current.index, due.next_due_at, due.next.index) == ("due", 0, START, 1)
    overdue = assignment_state(WEEKLY, START + timedelta(days=2), nothing_answered)
    assert overdue.status == "overdue" and overdue.next_due_at == START


def test_answered_waits_for_the_next_occurrence():
    state = assignment_state(WEEKLY, START + timedelta(days=3), lambda index: index == 0)
    assert state.status == "completed"
    assert state.next_due_at == START + timedelta(days=7)


def test_a_one_off_after_its_end_is_completed_if_answered_else_ended():
    later = START + timedelta(days=10)
    assert assignment_state(ONCE, later, lambda index: index == 0).status == "completed"
    ended = assignment_state(ONCE, later, nothing_answered)
    assert ended.status == "ended" and ended.next_due_at is None


def test_cancelled_wins():
    state = assignment_state(WEEKLY, START + timedelta(hours=1), nothing_answered, cancelled=True)
    assert (state.status, state.current, state.next_due_at) == ("cancelled", None, None)

