"""Where an assignment stands at a moment: from its schedule, its fulfilments and a cancellation.

The state is computed when asked, never stored, so it cannot go stale: an assignment record is
written once, and what happens to it (responses fulfilling occurrences, a cancellation) is
recorded beside it.

Overall ``status``:

- ``cancelled``: someone cancelled it; nothing more is asked;
- ``upcoming``: before its first occurrence opens;
- ``due`` / ``overdue`` / ``completed``: the status of the occurrence open now (``completed``:
  answered, and the next occurrence, if any, has not opened yet);
- ``ended``: past its end with nothing open; a one-off whose occurrence was answered is
  ``completed`` instead.

``next_due_at`` is when a response is next wanted: the open occurrence's due time while it is
unanswered, else when the next occurrence opens (None when nothing more is asked).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from .schedule import COMPLETED, DUE, OVERDUE, UPCOMING, Occurrence, Schedule, occurrence, occurrence_at, status

CANCELLED = "cancelled"
ENDED = "ended"
ASSIGNMENT_STATUSES = (UPCOMING, DUE, OVERDUE, COMPLETED, ENDED, CANCELLED)


@dataclass(frozen=True)
class AssignmentState:
    status: str
    current: Occurrence | None
    current_status: str | None
    next: Occurrence | None
    next_due_at: datetime | None


def assignment_state(
    schedule: Schedule, now: datetime, fulfilled: Callable[[int], bool], cancelled: bool = False
) -> AssignmentState:
    """The state at ``now``; ``fulfilled(index)`` says whether occurrence ``index`` was answered."""
    if cancelled:
        return AssignmentState(CANCELLED, None, None, None, None)
    if now < schedule.starts_at:
        first = occurrence(schedule, 0)
        return AssignmentState(UPCOMING, None, None, first, first.due_at if first else None)
    current = occurrence_at(schedule, now)
    if current is None:
        answered = schedule.every_days is None and fulfilled(0)
        return AssignmentState(COMPLETED if answered else ENDED, None, None, None, None)
    current_status = status(current, now, fulfilled(current.index))
    following = occurrence(schedule, current.index + 1)
    if current_status == COMPLETED:
        next_due_at = following.due_at if following else None
    else:
        next_due_at = current.due_at
    return AssignmentState(current_status, current, current_status, following, next_due_at)
