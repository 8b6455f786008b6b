"""The outbox journal: how an insert and the events it raises are stored as one change.

FerretDB v1, the MongoDB-compatible server the tests run on, has no multi-document
transactions, and it answers every query by scanning the collection (only inserts check a
unique index without a scan). So the outbox is built from inserts into big collections and
reads of small ones:

1. the writer inserts a journal entry ``{_id, events, collection, record_id}`` into
   ``outbox_journal``, which stays small because the relay deletes what it has published;
2. it inserts the record itself, stamped ``outbox.entry = <entry id>``;
3. it confirms by inserting ``{_id: <entry id>}`` into ``outbox_ready`` (also small).

The relay publishes confirmed entries at once. An entry left unconfirmed (the writer crashed
between steps) is checked against the big collection after a while: its events go out if and
only if the record was stored with that entry id. If the record's insert fails (a duplicate
claim, a lost race), the writer deletes its entry. Entry ids start with the time, so the relay
publishes in the order the changes were made.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Any, Mapping

from pymongo.collection import Collection
from pymongo.errors import PyMongoError

JOURNAL = "outbox_journal"
READY = "outbox_ready"


def new_entry_id() -> str:
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"


def insert_document(collection: Collection, document: Mapping[str, Any]) -> dict:
    """Insert ``document``; when it carries events (``outbox.events``), journal them with it.

    Raises what the record's insert raises (e.g. DuplicateKeyError), after withdrawing the entry.
    """
    stored = dict(document)
    outbox = stored.get("outbox")
    if not outbox or not outbox.get("events"):
        collection.insert_one(stored)
        return stored
    stored.setdefault("_id", str(uuid.uuid4()))
    database = collection.database
    entry_id = new_entry_id()
    database[JOURNAL].insert_one(
        {
            "_id": entry_id,
            "collection": collection.name,
            "record_id": stored["_id"],
            "events": list(outbox["events"]),
            "at": datetime.now(timezone.utc),
        }
    )
    stored["outbox"] = {**outbox, "entry": entry_id}
    try:
        collection.insert_one(stored)
    except BaseException:
        try:
            database[JOURNAL].delete_one({"_id": entry_id})
        except PyMongoError:
            pass  # the relay finds no record for this entry and drops it
        raise
    database[READY].insert_one({"_id": entry_id})
    return stored
