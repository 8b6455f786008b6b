"""Time as a dependency, so that schedules, quiet hours and escalation are tested without sleeps."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


# A time a little ahead of ours is a caller's clock running fast, not a time in the future.
CLOCK_SKEW = timedelta(minutes=5)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def is_future(moment: datetime, now: datetime) -> bool:
    """Whether a time a caller gives is later than ``now``, beyond ``CLOCK_SKEW``."""
    return moment > now + CLOCK_SKEW


def parse_rfc3339(value: str) -> datetime:
    """A time as ``rfc3339`` writes it (any offset, or ``Z``); one without an offset is taken as
    UTC. ``ValueError`` when ``value`` is not such a time."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC to the millisecond with a ``Z``, as the contract asks for every time on the
    wire (MongoDB keeps milliseconds); a time without an offset is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class FixedClock:
    """A clock that only moves when told to (tests and demos)."""

    def __init__(self, start: datetime):
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment
