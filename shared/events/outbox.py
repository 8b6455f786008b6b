"""The transactional outbox, without multi-document transactions.

A service raises events by inserting the document that records the change with its events
attached: ``insert_once(collection, with_events(document, [event], now))`` or
``ScopedCollection.insert_one(...)``. ``shared.journal`` stores the events and the document as
one change (its docstring says how, with inserts only, which FerretDB v1 does fast and safely).
A document that carries events is append-only: nobody updates it afterwards, and it keeps its
events as the history of what it raised.

The relay reads the small journal in order, publishes each confirmed entry's events with
publisher confirms, and then deletes the entry. It never writes the records, so it cannot race
the API's writes. When the broker is down, entries stay in the journal and the relay catches up
when the broker returns. An entry whose writer never confirmed it is published only if its
record was stored, and only once it is ``settle`` seconds old (the writer may still be busy).

An event no queue is bound for (``Unroutable``) is not dropped: it moves to
``outbox_deferred`` and is tried again with growing delays, because a risk alert raised before
the notifications worker first declared its queue must still arrive.

Delivery is at least once: a relay that dies between the broker's confirm and deleting the
entry publishes it again, and consumers drop the duplicate by its ``id``.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from pymongo.errors import PyMongoError

from shared.clock import SystemClock
from shared.events.publisher import PublishError, Publisher, Unroutable
from shared.journal import JOURNAL, READY
from shared.mongo import Database

log = logging.getLogger(__name__)

DEFERRED = "outbox_deferred"
UNROUTABLE_BACKOFF_SECONDS = (1, 5, 30, 120, 600)


def with_events(document: Mapping[str, Any], events: Sequence[Mapping[str, Any]], now: datetime) -> dict:
    """The document to insert, carrying ``events`` for the relay (unchanged when there are none)."""
    stored = dict(document)
    if events:
        stored["outbox"] = {"events": list(events), "at": now}
    return stored


def pending_count(database: Database) -> int:
    """Stored events not yet confirmed by the broker (journal entries, and deferred ones)."""
    return database[JOURNAL].count_documents({}) + database[DEFERRED].count_documents({})


class Relay:
    """Publishes journalled events in the order they were stored, and catches up after an outage."""

    def __init__(
        self,
        database: Database,
        publisher: Publisher,
        *,
        collections: Sequence[str] = (),
        clock=None,
        settle_seconds: float = 10.0,
    ):
        self.database = database
        self.publisher = publisher
        self.collections = frozenset(collections)
        self.clock = clock or SystemClock()
        self.settle = timedelta(seconds=settle_seconds)

    def _record_stored(self, entry: Mapping[str, Any]) -> bool:
        """The slow path, for entries never confirmed: is their record there, from this entry?"""
        record = self.database[entry["collection"]].find_one({"_id": entry["record_id"]}, {"outbox.entry": 1})
        return record is not None and (record.get("outbox") or {}).get("entry") == entry["_id"]

    def run_once(self, batch: int = 500) -> int:
        """Publish what is ready, retry what was deferred; returns the number of events confirmed.

        Raises PublishError when the broker is unreachable; entries confirmed before that are
        removed from the journal, the rest stay for the next round.
        """
        now = self.clock.now()
        entries = sorted(self.database[JOURNAL].find(), key=lambda entry: entry["_id"])[:batch]
        if not entries:
            return self._retry_deferred(now)
        ready = {doc["_id"] for doc in self.database[READY].find({}, {"_id": 1})}
        done: list[str] = []
        published = 0
        try:
            for entry in entries:
                if self.collections and entry["collection"] not in self.collections:
                    # Still published: losing an event is worse than a record kept where the
                    # service did not declare it. The log tells the developer to declare it.
                    log.error("event raised from an undeclared collection", extra={"collection": entry["collection"]})
                if entry["_id"] not in ready:
                    if now - entry["at"] < self.settle:
                        break  # its writer may still be storing the record: keep the order, wait
                    if not self._record_stored(entry):
                        log.warning("journal entry without its record dropped", extra={"entry": entry["_id"]})
                        done.append(entry["_id"])
                        continue
                try:
                    published += self._publish_all(entry["events"])
                except Unroutable as exc:
                    self._defer(entry, now, 0, str(exc))
                done.append(entry["_id"])
        finally:
            if done:
                self.database[JOURNAL].delete_many({"_id": {"$in": done}})
                self.database[READY].delete_many({"_id": {"$in": done}})
        return published + self._retry_deferred(now)

    def _publish_all(self, events: Sequence[Mapping[str, Any]]) -> int:
        """Publish a change's events in order, each confirmed; raises at the first one refused."""
        for event in events:
            self.publisher.publish(event)
        return len(events)

    def _defer(self, entry: Mapping[str, Any], now: datetime, attempts: int, why: str) -> None:
        delay = UNROUTABLE_BACKOFF_SECONDS[min(attempts, len(UNROUTABLE_BACKOFF_SECONDS) - 1)]
        log.warning("event kept for later: %s", why, extra={"entry": entry["_id"], "retry_in_s": delay})
        deferred = {
            "events": entry["events"],
            "retry_at": now + timedelta(seconds=delay),
            "attempts": attempts + 1,
        }
        self.database[DEFERRED].replace_one({"_id": entry["_id"]}, deferred, upsert=True)

    def _retry_deferred(self, now: datetime) -> int:
        published = 0
        for deferred in self.database[DEFERRED].find():
            if deferred["retry_at"] > now:
                continue
            try:
                published += self._publish_all(deferred["events"])
            except Unroutable as exc:
                self._defer(deferred, now, deferred["attempts"], str(exc))
                continue
            self.database[DEFERRED].delete_one({"_id": deferred["_id"]})
        return published

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        """Relay until ``stop`` is set; after a failure wait a little longer each time (max 10 s)."""
        failures = 0
        while not stop.is_set():
            try:
                published = self.run_once()
                failures = 0
                if published:
                    continue
            except (PublishError, PyMongoError) as exc:
                failures += 1
                log.warning("outbox relay paused: %s", exc.__class__.__name__, extra={"failures": failures})
            stop.wait(min(poll_seconds * (2**failures), 10.0) if failures else poll_seconds)
