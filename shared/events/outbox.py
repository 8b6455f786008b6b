"""The transactional outbox, without multi-document transactions.

A service raises events by inserting the document that records the change with its events
attached: ``insert_once(collection, with_events(document, [event], now))`` or
``ScopedCollection.insert_one(...)``. ``shared.journal`` stores the record (the atomic change,
events included) and then a journal entry, with inserts only, which FerretDB v1 does fast and
safely. A document that carries events is append-only: nobody updates it afterwards, and it keeps
its events as the history of what it raised.

The relay reads the small journal in order, publishes each entry's events with publisher
confirms, marks the entry sent (``outbox_sent``) and deletes it from the journal. It never writes
the records, so it cannot race the API's writes. When the broker is down, entries stay in the
journal and the relay catches up when the broker returns.

A writer that stops between its two inserts leaves a record whose events were never journalled.
The relay's repair sweep, at start and then every ``repair_seconds``, reads the records written
since its last sweep in each declared collection and journals those whose entry is neither in the
journal nor marked sent.

An event no queue is bound for (``Unroutable``) is not dropped: it moves to
``outbox_deferred`` and is tried again with growing delays, because a risk alert raised before
the notifications worker first declared its queue must still arrive.

Delivery is at least once: a relay that dies between the broker's confirm and its mark publishes
the entry again, and consumers drop the duplicate by its ``id``.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

from pymongo.errors import BulkWriteError, PyMongoError

from shared.clock import SystemClock
from shared.events.publisher import PublishError, Publisher, Unroutable
from shared.journal import JOURNAL, journal_entry
from shared.mongo import Database, insert_once

log = logging.getLogger(__name__)

DEFERRED = "outbox_deferred"
SENT = "outbox_sent"
STATE = "outbox_state"
# A record is swept once it is this old, so a writer still between its two inserts is not raced.
REPAIR_MARGIN = timedelta(seconds=30)
# On a first start, records written this long ago are swept.
FIRST_SWEEP_WINDOW = timedelta(days=1)
# Sent marks older than this (behind the sweep) are no longer needed.
SENT_KEPT_FOR = timedelta(days=1)
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
        repair_seconds: float = 60.0,
    ):
        self.database = database
        self.publisher = publisher
        self.collections = frozenset(collections)
        self.clock = clock or SystemClock()
        self.repair_every = timedelta(seconds=repair_seconds)
        self._next_repair: datetime | None = None

    def run_once(self, batch: int = 500) -> int:
        """Publish journalled events, retry deferred ones, sweep when due; returns events confirmed.

        Raises PublishError when the broker is unreachable; entries confirmed before that are
        marked sent, the rest stay in the journal for the next round.
        """
        now = self.clock.now()
        self._repair_when_due()
        entries = sorted(self.database[JOURNAL].find(), key=lambda entry: entry["_id"])[:batch]
        done: list[str] = []
        published = 0
        try:
            for entry in entries:
                if self.collections and entry["collection"] not in self.collections:
                    # Still published: losing an event is worse than a record kept where the
                    # service did not declare it. The log tells the developer to declare it.
                    log.error("event raised from an undeclared collection", extra={"collection": entry["collection"]})
                try:
                    published += self._publish_all(entry["events"])
                except Unroutable as exc:
                    self._defer(entry, now, 0, str(exc))
                done.append(entry["_id"])
        finally:
            self._forget(done)
        return published + self._retry_deferred(now)

    def _forget(self, entry_ids: list[str]) -> None:
        """Take entries off the journal, marking them first in ``outbox_sent`` (published, or
        deferred for later): at every moment an entry is in one of the two, which is what the
        repair sweep relies on."""
        if not entry_ids:
            return
        marked_at = datetime.now(timezone.utc)
        try:
            self.database[SENT].insert_many([{"_id": i, "at": marked_at} for i in entry_ids], ordered=False)
        except BulkWriteError:
            pass  # another relay replica marked some first
        self.database[JOURNAL].delete_many({"_id": {"$in": entry_ids}})

    def _repair_when_due(self) -> None:
        wall_clock = datetime.now(timezone.utc)
        if self._next_repair is None:
            for name in sorted(self.collections):
                self.database[name].create_index([("outbox.written_at", 1)])
        if self._next_repair is None or wall_clock >= self._next_repair:
            self.repair(wall_clock)
            self._next_repair = wall_clock + self.repair_every

    def repair(self, wall_clock: datetime) -> int:
        """Journal again the records written since the last sweep whose events were never journalled."""
        state = self.database[STATE].find_one({"_id": "repair"})
        since = state["swept_until"] if state else wall_clock - FIRST_SWEEP_WINDOW
        until = wall_clock - REPAIR_MARGIN
        if until <= since:
            return 0
        repaired = 0
        for name in sorted(self.collections):
            written = list(
                self.database[name].find(
                    {"outbox.written_at": {"$gte": since, "$lt": until}}, {"outbox.entry": 1}
                )
            )
            entries = [record["outbox"]["entry"] for record in written]
            known = {doc["_id"] for doc in self.database[JOURNAL].find({"_id": {"$in": entries}}, {"_id": 1})}
            known |= {doc["_id"] for doc in self.database[SENT].find({"_id": {"$in": entries}}, {"_id": 1})}
            known |= {doc["_id"] for doc in self.database[DEFERRED].find({"_id": {"$in": entries}}, {"_id": 1})}
            for record in written:
                if record["outbox"]["entry"] in known:
                    continue
                full = self.database[name].find_one({"_id": record["_id"]})
                if full is not None and insert_once(self.database[JOURNAL], journal_entry(name, full)):
                    log.warning("event journalled by the repair sweep", extra={"collection": name})
                    repaired += 1
        self.database[STATE].replace_one({"_id": "repair"}, {"swept_until": until}, upsert=True)
        self.database[SENT].delete_many({"at": {"$lt": since - SENT_KEPT_FOR}})
        return repaired

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
