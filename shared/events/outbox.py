"""The transactional outbox, without multi-document transactions.

An event is stored *inside the document whose insert raised it* (one insert, so atomic on
MongoDB and FerretDB alike): ``document["outbox"] = {"events": [...], "pending": True, ...}``.
The relay finds pending documents, publishes their events with confirms, and then marks them
sent.

The rule that makes this safe: **a document that carries events is never updated by the API
after it is inserted**. Events therefore ride on append-only records (a goal revision, a
progress entry, a scored response, a reminder claim, a delivery attempt), never on a document
the API keeps changing. The relay is then the only writer of ``outbox`` and cannot race the
API's writes, even on FerretDB whose updates are read-modify-write.

Delivery is at least once: if the relay dies between the broker's confirm and its mark, the
event is published again and consumers drop the duplicate by its ``id``.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping, Sequence

import pymongo
from pymongo.errors import PyMongoError

from shared.clock import SystemClock
from shared.events.publisher import PublishError, Publisher, Unroutable
from shared.mongo import Database, Index

log = logging.getLogger(__name__)

UNROUTABLE_BACKOFF_SECONDS = (1, 5, 30, 120, 600)


def with_events(document: Mapping[str, Any], events: Sequence[Mapping[str, Any]], now: datetime) -> dict:
    """The document to insert, carrying ``events`` for the relay (unchanged when there are none)."""
    stored = dict(document)
    if events:
        stored["outbox"] = {"events": list(events), "pending": True, "due_at": now, "attempts": 0}
    return stored


def outbox_indexes(collections: Iterable[str]) -> list[Index]:
    return [Index(name, [("outbox.pending", 1), ("outbox.due_at", 1)]) for name in collections]


def pending_count(database: Database, collections: Iterable[str]) -> int:
    return sum(database[name].count_documents({"outbox.pending": True}) for name in collections)


class Relay:
    """Publishes stored events in the order they were stored, and catches up after an outage."""

    def __init__(
        self,
        database: Database,
        collections: Sequence[str],
        publisher: Publisher,
        *,
        clock=None,
        batch_size: int = 500,
    ):
        self.database = database
        self.collections = tuple(collections)
        self.publisher = publisher
        self.clock = clock or SystemClock()
        self.batch_size = batch_size

    def _pending(self, now: datetime) -> list[tuple[str, dict]]:
        found: list[tuple[str, dict]] = []
        for name in self.collections:
            cursor = (
                self.database[name]
                .find({"outbox.pending": True, "outbox.due_at": {"$lte": now}}, {"outbox": 1})
                .sort("outbox.due_at", pymongo.ASCENDING)
                .limit(self.batch_size)
            )
            found.extend((name, doc) for doc in cursor)
        found.sort(key=lambda pair: pair[1]["outbox"]["due_at"])
        return found[: self.batch_size]

    def run_once(self) -> int:
        """Publish one batch; returns how many events the broker confirmed.

        Raises PublishError when the broker is unreachable; what was confirmed before that is
        still marked sent, and the rest stays pending for the next round.
        """
        now = self.clock.now()
        sent: dict[str, list[Any]] = {}
        published = 0
        try:
            for collection, document in self._pending(now):
                try:
                    for event in document["outbox"]["events"]:
                        self.publisher.publish(event)
                        published += 1
                except Unroutable as exc:
                    self._postpone(collection, document, now, str(exc))
                    continue
                sent.setdefault(collection, []).append(document["_id"])
        finally:
            self._mark_sent(sent, now)
        return published

    def _postpone(self, collection: str, document: Mapping[str, Any], now: datetime, why: str) -> None:
        attempts = document["outbox"].get("attempts", 0)
        delay = UNROUTABLE_BACKOFF_SECONDS[min(attempts, len(UNROUTABLE_BACKOFF_SECONDS) - 1)]
        log.warning("event kept for later: %s", why, extra={"collection": collection, "retry_in_s": delay})
        self.database[collection].update_one(
            {"_id": document["_id"]},
            {"$set": {"outbox.due_at": now + timedelta(seconds=delay), "outbox.attempts": attempts + 1}},
        )

    def _mark_sent(self, sent: Mapping[str, list[Any]], now: datetime) -> None:
        for collection, ids in sent.items():
            self.database[collection].update_many(
                {"_id": {"$in": ids}}, {"$set": {"outbox.pending": False, "outbox.sent_at": now}}
            )

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
