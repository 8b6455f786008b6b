"""When an assignment's questionnaires fall due: occurrences, due and overdue times.

An assignment asks for one response per *occurrence*. Occurrence ``n`` opens at
``starts_at + n * every_days`` (only occurrence 0 when ``every_days`` is None) and stays open
until the next one opens, or until ``ends_at``, or for ever for a one-off assignment without
an end. So exactly one occurrence is open at any moment between the start and the end, and a
response submitted at time ``t`` fulfils the occurrence open at ``t`` (:func:`occurrence_at`):
a late response still counts for the week it was late for, until the next week opens.

Each occurrence is *due* when it opens (that is when ``questionnaire.due`` is raised) and
*overdue* ``grace`` later (a reminder is raised again). The default grace is two days, so a
weekly questionnaire sent on Monday is chased on Wednesday; when the grace is as long as the
occurrence is open (a daily diary), the occurrence never goes overdue, it simply closes.

The occurrence ``index`` is stable for a given ``starts_at`` and ``every_days``, so
``(assignment_id, index)`` (see :meth:`Occurrence.key`) can carry a unique index that enforces
one response and one reminder per occurrence. Changing an assignment's schedule would
renumber its occurrences: make a new assignment instead.

All times are timezone-aware UTC datetimes; the caller passes ``now``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_GRACE = timedelta(days=2)

UPCOMING = "upcoming"
DUE = "due"
OVERDUE = "overdue"
MISSED = "missed"
COMPLETED = "completed"


@dataclass(frozen=True)
class Schedule:
    """An assignment's timing. ``every_days`` None means once; ``ends_at`` (exclusive) stops
    new occurrences and closes the open one."""

    starts_at: datetime
    every_days: int | None = None
    ends_at: datetime | None = None
    grace: timedelta = DEFAULT_GRACE

    def __post_init__(self) -> None:
        for name in ("starts_at", "ends_at"):
            moment = getattr(self, name)
            if moment is not None and moment.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware")
        days = self.every_days
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
            raise ValueError("every_days must be a whole number of days, at least 1, or None")
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.grace <= timedelta(0):
            raise ValueError("grace must be positive")

    @property
    def period(self) -> timedelta | None:
        return timedelta(days=self.every_days) if self.every_days is not None else None


@dataclass(frozen=True)
class Occurrence:
    """One requested response. ``closes_at`` None: open until answered. ``overdue_at`` None:
    it closes before the grace runs out."""

    index: int
    opens_at: datetime
    closes_at: datetime | None
    overdue_at: datetime | None

    @property
    def due_at(self) -> datetime:
        return self.opens_at

    def key(self, assignment_id: str) -> str:
        """A stable id for this occurrence of that assignment, for a unique index."""
        return f"{assignment_id}:{self.index}"

    def is_open(self, moment: datetime) -> bool:
        return self.opens_at <= moment and (self.closes_at is None or moment < self.closes_at)

    def to_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "opens_at": self.opens_at,
            "due_at": self.due_at,
            "overdue_at": self.overdue_at,
            "closes_at": self.closes_at,
        }


def occurrence(schedule: Schedule, index: int) -> Occurrence | None:
    """Occurrence ``index``, or None if the schedule has no such occurrence."""
    if index < 0 or (schedule.period is None and index > 0):
        return None
    opens_at = schedule.starts_at if schedule.period is None else schedule.starts_at + index * schedule.period
    if schedule.ends_at is not None and opens_at >= schedule.ends_at:
        return None
    closes_at = None if schedule.period is None else opens_at + schedule.period
    if schedule.ends_at is not None and (closes_at is None or schedule.ends_at < closes_at):
        closes_at = schedule.ends_at
    late_from = opens_at + schedule.grace
    overdue_at = None if closes_at is not None and late_from >= closes_at else late_from
    return Occurrence(index=index, opens_at=opens_at, closes_at=closes_at, overdue_at=overdue_at)


def occurrence_at(schedule: Schedule, moment: datetime) -> Occurrence | None:
    """The occurrence open at ``moment``: the one a response submitted then fulfils.
    None before the start or after the end."""
    _require_aware(moment)
    if moment < schedule.starts_at:
        return None
    index = 0 if schedule.period is None else (moment - schedule.starts_at) // schedule.period
    found = occurrence(schedule, index)
    return found if found is not None and found.is_open(moment) else None


def due_dates(schedule: Schedule, until: datetime, most: int) -> list[datetime]:
    """When its occurrences fall due, up to ``until`` and the first after it (the next one), the
    last ``most`` of them: the due dates a chart marks."""
    _require_aware(until)
    if schedule.period is None or until < schedule.starts_at:
        following = 0
    else:
        following = (until - schedule.starts_at) // schedule.period + 1
    found = (occurrence(schedule, index) for index in range(max(0, following - most + 1), following + 1))
    return [each.due_at for each in found if each is not None]


def next_to_remind(schedule: Schedule, now: datetime, after: int | None = None) -> Occurrence | None:
    """The occurrence whose reminders come next: the first after occurrence ``after`` (the first
    of all when None) that is open at ``now`` or opens later. Occurrences that closed meanwhile
    are skipped: they were missed, and the one open now is what to ask. None when nothing more
    will open."""
    _require_aware(now)
    index = 0 if after is None else after + 1
    if now >= schedule.starts_at:
        current = occurrence_at(schedule, now)
        if current is None:
            return None  # past the end
        index = max(index, current.index)
    return occurrence(schedule, index)


def status(occurrence: Occurrence, moment: datetime, fulfilled: bool) -> str:
    """``completed`` if a response fulfilled it, else ``upcoming`` / ``due`` / ``overdue`` /
    ``missed`` at ``moment``."""
    _require_aware(moment)
    if fulfilled:
        return COMPLETED
    if moment < occurrence.opens_at:
        return UPCOMING
    if occurrence.closes_at is not None and moment >= occurrence.closes_at:
        return MISSED
    if occurrence.overdue_at is not None and moment >= occurrence.overdue_at:
        return OVERDUE
    return DUE


def _require_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.utcoffset() is None:
            raise ValueError("times must be timezone-aware")
