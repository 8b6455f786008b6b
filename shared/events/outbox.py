"""The transactional outbox, without multi-document transactions.

A service raises events by inserting the document that records the change with its events
attached: ``insert_once(collection, with_events(document, [event], now))`` or
``ScopedCollection.insert_one(...)``. ``shared.journal`` stores the record (the atomic change,
events included) and then a journal entry, with inserts only. A document that carries events is
append-only: nobody updates it afterwards, and it keeps its events as the history of what it
raised.

The relay publishes journal entries with many confirms in flight (``shared.events.pipeline``):
each round it reads, for each partition it owns, the oldest entries by an equality lookup on the
partition, publishes their events in id order on one channel (so a subject's events keep their
order), and, as the broker confirms them, marks the entries sent (``outbox_sent``) and deletes them
from the journal. An entry is marked sent only when the broker confirmed every one of its events;
one nacked, or still unconfirmed when the connection drops, stays in the journal and is published
again. It never writes the records, so it cannot race the API's writes. When the broker is down,
entries wait in the journal and the relay catches up when it returns.

Several relay replicas (one per worker process of a service) share the partitions through
``shared.leases``: each partition is published by one replica at a time, so replicas do not
publish the same events twice in the normal course; after a crash or a clock jump a few events
may be published twice, which consumers drop by event id (delivery is at least once).

A writer that stops between its two inserts leaves a record whose events were never journalled.
The repair sweep (``Relay.repair``, a periodic job of the worker, in a thread of its own so that
its reads never hold up publishing) reads the records written in each closed window
(``outbox_slot``) of each declared collection and journals those whose entry is neither in the
journal, nor marked sent, nor deferred.

An event no queue is bound for comes back from the broker (``mandatory``). It is not dropped: it
moves to ``outbox_deferred`` and is tried again with growing delays (a timetable), because a risk
alert raised before the notifications worker first declared its queue must still arrive.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

from pymongo.errors import BulkWriteError, PyMongoError

from shared import metrics, retention
from shared.clock import Clock, SystemClock
from shared.events.pipeline import ACKED, NACKED, RETURNED, ConfirmPipeline, Outcome
from shared.events.publisher import PublishError
from shared.journal import JOURNAL, PARTITIONS, SLOT_SECONDS, entry_written_at, journal_entry
from shared.leases import Leases
from shared.logs import event_log_context
from shared.leases import indexes as lease_indexes
from shared.mongo import Database, Index, insert_once
from shared.periods import slot_of
from shared.timetable import Timetable

log = logging.getLogger(__name__)

DEFERRED = "outbox_deferred"
RETRIES = "outbox_retries"
SENT = "outbox_sent"
STATE = "outbox_state"
LEASE = "outbox"
# A window is swept once it is this old, so a writer still between its two inserts is not raced.
REPAIR_MARGIN = timedelta(seconds=30)
# On a first start, records written this long ago are swept (a writer that stopped between its
# two inserts before any relay of its service ever ran, longer ago than this, is not repaired).
FIRST_SWEEP_WINDOW = timedelta(minutes=10)
# How often deferred events are looked at (they wait seconds to minutes anyway).
RETRY_CHECK = timedelta(seconds=1)
UNROUTABLE_BACKOFF_SECONDS = (1, 5, 30, 120, 600)


def with_events(
    document: Mapping[str, Any], events: Sequence[Mapping[str, Any]], now: datetime, ordering_key: str | None = None
) -> dict[str, Any]:
    """The document to insert, carrying ``events`` for the relay (unchanged when there are none).

    ``ordering_key`` names what the events must stay in order with (default: the first event's
    subject); changes with one key are published in the order they were stored.
    """
    stored = dict(document)
    if events:
        stored["outbox"] = {"events": list(events), "at": now, "key": ordering_key or events[0]["subject"]}
    return stored


def outbox_indexes(collections: Sequence[str]) -> list[Index]:
    """The indexes the outbox needs in a service's database (its event-carrying collections'
    windows, the journal's partitions and windows, the marks' windows and expiry)."""
    return [
        *(Index(name, [("outbox_slot", 1)]) for name in collections),
        Index(JOURNAL, [("partition", 1), ("_id", 1)]),
        Index(SENT, [("slot", 1)]),
        Index(DEFERRED, [("slot", 1)]),
        *retention.indexes(SENT),
        *Timetable.indexes(RETRIES),
        *lease_indexes(),
    ]


def pending_count(database: Database) -> int:
    """Stored events not yet confirmed by the broker (journal entries, and deferred ones)."""
    return database[JOURNAL].count_documents({}) + database[DEFERRED].count_documents({})


def oldest_pending_age(database: Database, now: datetime) -> float:
    """Seconds since the oldest event not yet confirmed by the broker was stored (0 when none
    waits): the first entry of the journal and of the deferred ones, in id (time) order."""
    firsts = [doc["_id"] for name in (JOURNAL, DEFERRED)
              for doc in database[name].find({}, {"_id": 1}).sort("_id", 1).limit(1)]
    if not firsts:
        return 0.0
    return max(0.0, now.timestamp() - entry_written_at(min(firsts)))


def backlog_metrics(database: Database) -> metrics.ReadOnScrape:
    """The outbox's backlog and the age of its oldest event, read at each scrape."""
    return metrics.outbox_collector(
        lambda: pending_count(database), lambda: oldest_pending_age(database, datetime.now(timezone.utc))
    )


@dataclass
class _InFlight:
    """A journal entry (or a deferred one) whose events are published and not all confirmed."""

    doc: dict[str, Any]
    waiting: int
    retry_id: str | None = None  # set for a deferred entry: its timetable entry
    returned: list[Any] = field(default_factory=list)
    nacked: bool = False


class Relay:
    """Publishes journalled events with many confirms in flight, on the partitions it owns."""

    def __init__(
        self,
        database: Database,
        amqp_url: str,
        exchange: str,
        *,
        collections: Sequence[str] = (),
        clock: Clock | None = None,
        batch: int = 500,
        max_in_flight: int = 2000,
        sent_kept_for: timedelta = timedelta(days=14),
        member_id: str | None = None,
    ):
        self.database = database
        self.pipeline = ConfirmPipeline(amqp_url, exchange)
        self.collections = frozenset(collections)
        self.clock = clock or SystemClock()
        self.batch = batch
        self.max_in_flight = max_in_flight
        self.sent_kept_for = sent_kept_for
        self.leases = Leases(database, LEASE, [str(p) for p in range(PARTITIONS)], member_id=member_id)
        self.retries = Timetable(database, RETRIES, slot_seconds=10, overlap=timedelta(seconds=30))
        self.published = 0
        self._in_flight: dict[str, _InFlight] = {}
        self._confirmed: list[_InFlight] = []
        self._next_retry_check: datetime | None = None
        self._next_partition = 0

    # -- running ---------------------------------------------------------------------------

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        """Relay until ``stop`` is set; after a failure wait a little longer each time (max 10 s)."""
        failures = 0
        while not stop.is_set():
            try:
                self._connect(stop, poll_seconds)
                failures = 0
            except (PublishError, PyMongoError) as exc:
                failures += 1
                log.warning("outbox relay paused: %s", exc.__class__.__name__, extra={"failures": failures})
                stop.wait(min(poll_seconds * (2**failures), 10.0))

    def run_once(self) -> int:
        """One round on a connection of its own, waiting for its confirms; returns the events the
        broker confirmed (tests and tools; ``run`` is the worker's loop)."""
        before = self.published
        self._next_retry_check = None
        stop = threading.Event()
        ticks = iter([self.round, stop.set])
        try:
            self.pipeline.run(lambda: next(ticks, lambda: None)(), self._settle, stop, 0.01)
        finally:
            self._end_connection()
        return self.published - before

    def ensure_indexes(self) -> None:
        self.database.ensure(outbox_indexes(sorted(self.collections)))

    def _connect(self, stop: threading.Event, poll_seconds: float) -> None:
        try:
            self.pipeline.run(self.round, self._settle, stop, poll_seconds)
        finally:
            self._end_connection()

    def _end_connection(self) -> None:
        """Record what the broker confirmed; whatever it did not is published again later."""
        self._in_flight.clear()
        try:
            self._record_confirmed()
        except PyMongoError as exc:
            # Confirmed but not recorded: published again later, a duplicate consumers drop.
            self._confirmed.clear()
            log.warning("confirmed events not recorded: %s", exc.__class__.__name__)

    # -- one round -------------------------------------------------------------------------

    def round(self) -> None:
        """Publish what is waiting in the partitions this replica owns."""
        self._record_confirmed()
        wall_clock = datetime.now(timezone.utc)
        owned = self.leases.owned(wall_clock)
        self._release_finished_partitions(wall_clock)
        if self._next_retry_check is None or wall_clock >= self._next_retry_check:
            self._publish_due_retries()
            self._next_retry_check = wall_clock + RETRY_CHECK
        if not owned or self.database[JOURNAL].find_one({}, {"_id": 1}) is None:
            return
        # A partition is read again once its batch in flight is settled: its entries are then
        # off the journal (not read twice), and a republished nack cannot overtake what follows.
        busy = {pending.doc["partition"] for pending in self._in_flight.values()}
        if len(owned) == PARTITIONS:
            # Alone (one replica): one lookup for the whole journal, which holds only what is
            # waiting, instead of one per partition.
            self._publish_entries(self.database[JOURNAL].find().sort("_id", 1).limit(self.batch), busy)
            return
        partitions = sorted(int(p) for p in owned)
        start = self._next_partition % len(partitions)
        self._next_partition += 1
        for partition in partitions[start:] + partitions[:start]:
            if self.pipeline.outstanding >= self.max_in_flight:
                return
            if partition in busy:
                continue
            # A round can outlast the lease: ask again before each partition.
            if str(partition) not in self.leases.owned(datetime.now(timezone.utc)):
                continue
            self._publish_entries(self.database[JOURNAL].find({"partition": partition}).sort("_id", 1).limit(self.batch), busy)

    def _publish_entries(self, entries: Iterable[dict[str, Any]], busy: set[int]) -> None:
        for entry in entries:
            if entry["_id"] in self._in_flight or entry["partition"] in busy:
                continue
            if self.collections and entry["collection"] not in self.collections:
                # Still published: losing an event is worse than a record kept where the
                # service did not declare it. The log tells the developer to declare it.
                with event_log_context(entry["events"][0]):
                    log.error("event raised from an undeclared collection", extra={"collection": entry["collection"]})
            self._publish(entry)

    def _release_finished_partitions(self, wall_clock: datetime) -> None:
        """Hand over partitions this replica no longer owns once none of their events is in flight."""
        leaving = self.leases.to_release(wall_clock)
        if not leaving:
            return
        busy = {pending.doc["partition"] for pending in self._in_flight.values()}
        for piece, window in leaving:
            if int(piece) not in busy:
                self.leases.release(piece, window)

    def _publish(self, doc: dict[str, Any], retry_id: str | None = None) -> None:
        self._in_flight[doc["_id"]] = _InFlight(doc, waiting=len(doc["events"]), retry_id=retry_id)
        for event in doc["events"]:
            self.pipeline.publish(doc["_id"], event)

    def _settle(self, outcomes: Sequence[Outcome]) -> None:
        """Record what the broker confirmed: entries whose events were all acked are marked sent
        and leave the journal; returned events are deferred; nacked entries are published again."""
        finished: list[_InFlight] = []
        for entry_id, event, result in outcomes:
            pending = self._in_flight.get(entry_id)
            if pending is None:
                continue
            pending.waiting -= 1
            if result == RETURNED:
                pending.returned.append(event)
            elif result == NACKED:
                pending.nacked = True
            else:
                assert result == ACKED
                self.published += 1
            if pending.waiting == 0:
                finished.append(pending)
        for pending in finished:
            del self._in_flight[pending.doc["_id"]]
        # Nacked ones stay in the journal (or due in the retry timetable) to be published again;
        # the others are recorded at the next round, all together (confirms come in small groups).
        self._confirmed += [p for p in finished if not p.nacked]

    def _record_confirmed(self) -> None:
        """Record the entries the broker confirmed since the last time: marked sent and off the
        journal, or deferred when no queue took some of their events."""
        done, self._confirmed = self._confirmed, []
        if not done:
            return
        now = self.clock.now()
        for pending in done:
            if pending.returned:
                self._defer(pending, now)
            elif pending.retry_id is not None:
                self.database[DEFERRED].delete_one({"_id": pending.doc["_id"]})
            if pending.retry_id is not None:
                self.retries.done(pending.retry_id)
        self._forget([p.doc for p in done if p.retry_id is None])

    def _forget(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Take entries off the journal, marking them first in ``outbox_sent`` (published, or
        deferred for later): at every moment an entry is in one of the journal, the sent marks or
        the deferred entries, which is what the repair sweep relies on."""
        if not entries:
            return
        marked_at = datetime.now(timezone.utc)
        keep = retention.expiry(marked_at, self.sent_kept_for)
        by_slot: dict[int, list[str]] = {}
        for entry in entries:
            by_slot.setdefault(entry["slot"], []).append(entry["_id"])
        # One mark per write window for the lot (the sweep reads them by window): one insert
        # instead of one per entry.
        marks = [{"_id": f"{ids[0]}+{len(ids)}", "slot": slot, "entries": ids, "at": marked_at, **keep}
                 for slot, ids in by_slot.items()]
        try:
            self.database[SENT].insert_many(marks, ordered=False)
        except BulkWriteError:
            pass  # another relay replica marked the same entries first (after a lease changed hands)
        by_partition: dict[int, list[str]] = {}
        for entry in entries:
            by_partition.setdefault(entry["partition"], []).append(entry["_id"])
        for partition, ids in by_partition.items():
            # The partition narrows the lookup to one partition's pending entries.
            self.database[JOURNAL].delete_many({"partition": partition, "_id": {"$in": ids}})

    # -- events nobody was listening for ---------------------------------------------------

    def _defer(self, pending: _InFlight, now: datetime) -> None:
        doc = pending.doc
        attempts = doc.get("attempts", 0)
        delay = UNROUTABLE_BACKOFF_SECONDS[min(attempts, len(UNROUTABLE_BACKOFF_SECONDS) - 1)]
        with event_log_context(pending.returned[0]):
            log.warning("event kept for later: no queue is bound for it", extra={"entry": doc["_id"], "retry_in_s": delay})
        deferred = {"_id": doc["_id"], "slot": doc["slot"], "partition": doc["partition"],
                    "events": pending.returned, "attempts": attempts + 1}
        self.database[DEFERRED].replace_one({"_id": doc["_id"]}, deferred, upsert=True)
        self.retries.put(f"{doc['_id']}:{attempts + 1}", now + timedelta(seconds=delay), now, entry=doc["_id"])

    def _publish_due_retries(self) -> None:
        if self.database[DEFERRED].find_one({}, {"_id": 1}) is None:
            return
        now = self.clock.now()
        for due in self.retries.due(now, 100):
            if due["entry"] in self._in_flight:
                continue
            deferred = self.database[DEFERRED].find_one({"_id": due["entry"]})
            if deferred is None:
                self.retries.done(due["_id"])  # published meanwhile (by another replica)
            else:
                self._publish(deferred, retry_id=due["_id"])

    # -- the repair sweep ------------------------------------------------------------------

    def repair(self, wall_clock: datetime | None = None) -> int:
        """Journal again the records of closed windows whose events were never journalled."""
        wall_clock = wall_clock or datetime.now(timezone.utc)
        state = self.database[STATE].find_one({"_id": "repair"})
        start = state["slot"] if state else slot_of(wall_clock - FIRST_SWEEP_WINDOW, SLOT_SECONDS)
        until = slot_of(wall_clock - REPAIR_MARGIN, SLOT_SECONDS)
        repaired = 0
        for slot in range(start, until):
            known = {doc["_id"] for doc in self.database[DEFERRED].find({"slot": slot}, {"_id": 1})}
            for mark in self.database[SENT].find({"slot": slot}, {"entries": 1}):
                known.update(mark["entries"])
            for name in sorted(self.collections):
                for record in self.database[name].find({"outbox_slot": slot}, {"outbox.entry": 1}):
                    entry_id = record["outbox"]["entry"]
                    # Not sent nor deferred: still in the journal (rarely, this long after), or lost.
                    if entry_id in known or self.database[JOURNAL].find_one({"_id": entry_id}, {"_id": 1}):
                        continue
                    full = self.database[name].find_one({"_id": record["_id"]})
                    if full is not None and insert_once(self.database[JOURNAL], journal_entry(name, full)):
                        log.warning("event journalled by the repair sweep", extra={"collection": name})
                        repaired += 1
        if until > start:
            try:
                self.database[STATE].replace_one({"_id": "repair"}, {"slot": until}, upsert=True)
            except PyMongoError:
                pass  # another replica swept the same windows; either cursor is right
        return repaired
