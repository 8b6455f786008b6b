"""The outbox journal: how an insert and the events it raises are stored as one change.

FerretDB v1, the MongoDB-compatible server the tests run on, has no multi-document
transactions, and it filters in Go, over every document that the rest of a filter selects, what is
not a top-level equality on a scalar (a range, say). So the outbox costs the writer one extra
insert, into a small collection:

1. the record is inserted with its events in it (``outbox.events``), stamped with a journal entry
   id and the time it was written: this single insert is the atomic change;
2. a journal entry ``{_id: <entry id>, events, collection, record_id}`` is inserted into
   ``outbox_journal``, which stays small because the relay deletes what it has published.

The relay publishes journal entries in order. If a writer stops between the two inserts, the
record holds the only copy of its events: the relay's repair sweep (``shared.events.outbox``)
finds records written since its last sweep whose entry is neither in the journal nor marked
sent, and journals them again. Entry ids start with the time, so the relay publishes in the
order the changes were made.
"""
from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Mapping

from pymongo.collection import Collection
from pymongo.errors import PyMongoError

JOURNAL = "outbox_journal"

log = logging.getLogger(__name__)


def new_entry_id() -> str:
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"


def journal_entry(collection_name: str, record: Mapping[str, Any]) -> dict:
    """The journal entry of a record that carries events (also how the repair sweep rebuilds one)."""
    outbox = record["outbox"]
    return {
        "_id": outbox["entry"],
        "collection": collection_name,
        "record_id": record["_id"],
        "events": list(outbox["events"]),
        "at": outbox["written_at"],
    }


def insert_document(collection: Collection, document: Mapping[str, Any]) -> dict:
    """Insert ``document``; when it carries events (``outbox.events``), journal them after it.

    Raises what the record's insert raises (e.g. DuplicateKeyError). A failure to journal after
    the record is stored is not raised: the change happened, and the repair sweep journals it.
    """
    stored = dict(document)
    outbox = stored.get("outbox")
    if not outbox or not outbox.get("events"):
        collection.insert_one(stored)
        return stored
    stored.setdefault("_id", str(uuid.uuid4()))
    # Wall-clock time, not a service's (possibly fixed) clock: the repair sweep reads by it.
    stored["outbox"] = {**outbox, "entry": new_entry_id(), "written_at": datetime.now(timezone.utc)}
    collection.insert_one(stored)
    try:
        collection.database[JOURNAL].insert_one(journal_entry(collection.name, stored))
    except PyMongoError as exc:
        log.warning("event journalling deferred to the repair sweep: %s", exc.__class__.__name__)
    return stored
