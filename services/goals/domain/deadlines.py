"""Deadlines of open goals: due soon and overdue.

The worker checks `is_due_soon` with its own `today` from `due_soon_from` on, to raise
`goal.due_soon`; reads derive `is_overdue`. Nothing here reads the clock.
"""

from datetime import date, timedelta
from typing import Any

from .dates import as_date
from .lifecycle import is_open


def is_due_soon(target_date: Any, today: date, days_before: int) -> bool:
    """Whether `target_date` falls within the next `days_before` days, today included.

    With days_before 7 a goal due today or in 7 days is due soon; one due in 8 days or already
    past is not. This does not look at the status: raise `goal.due_soon` only for open goals
    (`lifecycle.is_open`). False without a target date; ValueError for a negative days_before.
    """
    if days_before < 0:
        raise ValueError("days_before must not be negative")
    target = as_date(target_date)
    if target is None:
        return False
    return 0 <= (target - today).days <= days_before


def due_soon_from(target_date: Any, days_before: int) -> date | None:
    """The first day on which a goal with `target_date` is due soon (`is_due_soon`), or None
    without a target date."""
    target = as_date(target_date)
    return None if target is None else target - timedelta(days=days_before)


def is_overdue(target_date: Any, today: date, status: str) -> bool:
    """Whether an open goal (`active` or `on_hold`) has passed its target date.

    A goal is overdue from the day after its target date. Achieved and abandoned goals are
    never overdue; neither is a goal without a target date.
    """
    target = as_date(target_date)
    return target is not None and is_open(status) and today > target
