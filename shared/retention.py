"""Bookkeeping kept for a while, then deleted: how collections that only make work idempotent
stay bounded.

Consumers mark every event they receive and handle (``processed_events``); the relay marks every
journal entry it published (``outbox_sent``). A mark only has to outlive the redeliveries and
sweeps it guards against, so it is stamped with ``expires_at`` and ``expiry_day`` (``expiry``)
and deleted once it has expired:

- on MongoDB by a TTL index on ``expires_at``;
- everywhere by the worker's retention job, a day at a time, with an equality lookup on
  ``expiry_day`` (FerretDB v1 has no TTL indexes, and a range delete there reads the whole
  collection).

How long marks are kept is ``BOOKKEEPING_RETENTION_DAYS`` (14 by default): a duplicate delivery
or a dead letter replayed within that time is recognised; one replayed later runs its handler
again, which every handler tolerates (handlers are idempotent by their own ids).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Iterable

from pymongo.errors import DuplicateKeyError

from shared.mongo import Database, Index
from shared.periods import period_of

log = logging.getLogger(__name__)

CURSORS = "retention_cursors"
# How far back the first purge of a collection looks for expired marks.
FIRST_LOOK_BACK_DAYS = 31


def expiry(now: datetime, keep: timedelta) -> dict[str, Any]:
    """The fields that make a mark expire ``keep`` after ``now``."""
    expires_at = now + keep
    return {"expires_at": expires_at, "expiry_day": period_of(expires_at, "day")}


def indexes(collection: str) -> list[Index]:
    return [
        Index(collection, [("expires_at", 1)], expire_after_seconds=0),
        Index(collection, [("expiry_day", 1)]),
    ]


def purge(database: Database, collections: Iterable[str], now: datetime) -> int:
    """Delete the marks of ``collections`` that expired before today; returns how many."""
    today = period_of(now, "day")
    cursors = database[CURSORS]
    deleted = 0
    for name in collections:
        state = cursors.find_one({"_id": name})
        start = state["day"] if state else today - FIRST_LOOK_BACK_DAYS
        for day in range(start, today):
            deleted += database[name].delete_many({"expiry_day": day}).deleted_count
        if start != today:
            try:
                cursors.replace_one({"_id": name}, {"day": today}, upsert=True)
            except DuplicateKeyError:
                pass  # another replica purged the same days
    if deleted:
        log.info("expired bookkeeping deleted", extra={"count": deleted})
    return deleted
