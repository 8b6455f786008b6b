"""Time windows as numbers, so that "what falls in this window" is an equality lookup.

MongoDB answers a range query on a time with an index. FerretDB v1, which the tests and the local
stack run on, pushes only top-level equality down to its storage: a range on a time makes it read
every document. So wherever a request or a job would ask for a time range (due work, a page of a
long list, expired bookkeeping), records also carry the number of the window their time falls in,
and the range becomes a few equality lookups, each served by an index on both servers.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
PERIODS = ("day", "month", "year")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def slot_of(moment: datetime, slot_seconds: int) -> int:
    """The number of the ``slot_seconds``-wide window ``moment`` falls in, counted from 1970."""
    return int((_utc(moment) - EPOCH).total_seconds() // slot_seconds)


def period_of(moment: datetime, period: str) -> int:
    """The number of the day, month or year (UTC) ``moment`` falls in."""
    moment = _utc(moment)
    if period == "day":
        return (moment.date() - date(1970, 1, 1)).days
    if period == "month":
        return (moment.year - 1970) * 12 + moment.month - 1
    if period == "year":
        return moment.year
    raise ValueError(f"unknown period {period!r}; one of {', '.join(PERIODS)}")
