"""The outbox journal: how an insert and the events it raises are stored as one change.

Neither MongoDB without transactions nor FerretDB v1 can insert into two collections atomically,
so the outbox costs the writer one extra insert:

1. the record is inserted with its events in it (``outbox.events``), stamped with a journal entry
   id, the time it was written and that time's window (``outbox_slot``, top-level so the repair
   sweep finds it by equality): this single insert is the atomic change;
2. a journal entry ``{_id: <entry id>, partition, slot, events, collection, record_id}`` is
   inserted into ``outbox_journal``, which holds only what is not yet published: the relay deletes
   entries once the broker has confirmed them.

Entry ids start with the time, so a partition's entries in id order are its changes in the order
they were made. The partition is a hash of the change's ordering key (by default the subject of
its first event: one goal, one response), so the events of one subject stay in one partition and
keep their order, while relay replicas share the partitions (``shared.events.outbox``).

If a writer stops between the two inserts, the record holds the only copy of its events: the
relay's repair sweep finds records whose entry is neither in the journal nor marked sent, by the
window they were written in, and journals them again.
"""
from __future__ import annotations

import logging
import time
import uuid
import zlib
from datetime import datetime, timezone
from typing import Any, Mapping

from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from shared.periods import slot_of

JOURNAL = "outbox_journal"
PARTITIONS = 16
# Width of the windows the repair sweep reads records by.
SLOT_SECONDS = 60

log = logging.getLogger(__name__)


def new_entry_id() -> str:
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"


def entry_written_at(entry_id: str) -> float:
    """When the change an entry journals was written (Unix time): its id starts with it."""
    return int(entry_id[:20]) / 1e9


def partition_of(ordering_key: str) -> int:
    return zlib.crc32(ordering_key.encode()) % PARTITIONS


def journal_entry(collection_name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The journal entry of a record that carries events (also how the repair sweep rebuilds one)."""
    outbox = record["outbox"]
    return {
        "_id": outbox["entry"],
        "partition": partition_of(outbox.get("key") or outbox["events"][0]["subject"]),
        "slot": record["outbox_slot"],
        "collection": collection_name,
        "record_id": record["_id"],
        "events": list(outbox["events"]),
        "at": outbox["written_at"],
    }


def journalled(document: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` as it is stored: when it carries events (``outbox.events``), stamped with its
    journal entry id, the time it was written and that time's window (``outbox_slot``)."""
    stored = dict(document)
    outbox = stored.get("outbox")
    if not outbox or not outbox.get("events"):
        return stored
    stored.setdefault("_id", str(uuid.uuid4()))
    # Wall-clock time, not a service's (possibly fixed) clock: the repair sweep reads by it.
    written_at = datetime.now(timezone.utc)
    stored["outbox"] = {**outbox, "entry": new_entry_id(), "written_at": written_at}
    stored["outbox_slot"] = slot_of(written_at, SLOT_SECONDS)
    return stored


def insert_document(collection: Collection[dict[str, Any]], document: Mapping[str, Any]) -> dict[str, Any]:
    """Insert ``document``; when it carries events (``outbox.events``), journal them after it.

    Raises what the record's insert raises (e.g. DuplicateKeyError). A failure to journal after
    the record is stored is not raised: the change happened, and the repair sweep journals it.
    """
    stored = journalled(document)
    collection.insert_one(stored)
    if "outbox_slot" not in stored:
        return stored
    try:
        collection.database[JOURNAL].insert_one(journal_entry(collection.name, stored))
    except PyMongoError as exc:
        log.warning("event journalling deferred to the repair sweep: %s", exc.__class__.__name__)
    return stored
