"""The indexes the services declare are the ones the server answers equality lookups with.

On MongoDB that is what indexes do. On FerretDB v1 on PostgreSQL it holds only because
tools/ferretdb/gin_indexes.sql puts a GIN index beside each btree index FerretDB creates (which
PostgreSQL cannot use for FerretDB's queries): docs/STORAGE.md. The proof is the server's own plan
(tests/support/explain.py), on a collection large enough that a scan is never the cheaper plan.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pymongo
import pytest

from shared.mongo import Database, Index
from tests.support.explain import indexes_used

DOCUMENTS = 20_000
TENANTS = 5
INSTRUMENTS = ("phq9", "gad7", "who5")
RECORDS = "records"
# Declared the way the services declare theirs (services/*/config.py).
INDEXES = (
    Index(RECORDS, [("tenant", 1), ("client_id", 1), ("instrument", 1), ("seq", 1)], unique=True, name="series_seq"),
    Index(RECORDS, [("event_id", 1)]),
    Index(RECORDS, [("tenant", 1), ("completed_at", -1)]),
)


def record(n: int) -> dict:
    client = n % 2000
    return {
        "_id": f"r-{n:05d}",
        "tenant": f"tenant-{client % TENANTS}",
        "client_id": f"client-{client}",
        "instrument": INSTRUMENTS[(n // 2000) % len(INSTRUMENTS)],
        "seq": n // (2000 * len(INSTRUMENTS)),
        "event_id": str(uuid.UUID(int=n)),
        "completed_at": datetime(2025, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=n),
        "note": f"note-{n}",  # indexed by nothing
    }


@pytest.fixture(scope="module")
def indexed(mongo_url):
    """A database with DOCUMENTS records and the indexes above, ensured as a service does."""
    name = f"test_{uuid.uuid4().hex[:10]}_indexes"
    database = Database(mongo_url, name, INDEXES)
    database.ensure_indexes()
    database[RECORDS].insert_many([record(n) for n in range(DOCUMENTS)], ordered=False)
    yield database
    database.client.drop_database(name)
    database.close()


def test_an_id_lookup_reads_an_index(indexed):
    assert indexes_used(indexed[RECORDS], {"_id": "r-12345"})


def test_an_equality_on_a_single_field_index_reads_it(indexed):
    assert indexes_used(indexed[RECORDS], {"event_id": str(uuid.UUID(int=777))})


def test_a_client_series_reads_the_compound_index(indexed):
    assert indexes_used(indexed[RECORDS], {"tenant": "tenant-2", "client_id": "client-7", "instrument": "gad7"})


def test_an_equality_on_an_unindexed_field_scans(indexed):
    assert indexes_used(indexed[RECORDS], {"note": "note-777"}) == []


def test_an_index_dropped_is_no_longer_read_and_one_created_again_is(indexed):
    records = indexed[RECORDS]
    lookup = {"event_id": str(uuid.UUID(int=4242))}
    records.drop_index("event_id_1")
    try:
        assert indexes_used(records, lookup) == []
    finally:
        indexed.ensure_indexes()
    assert indexes_used(records, lookup)
    assert records.find_one(lookup)["_id"] == "r-04242"


def test_collections_and_databases_with_indexes_can_be_dropped(mongo_url):
    name = f"test_{uuid.uuid4().hex[:10]}_drops"
    database = Database(mongo_url, name, [Index("first", [("a", 1), ("b", -1)]), Index("second", [("a", 1)], unique=True)])
    try:
        database.ensure_indexes()
        database["first"].insert_one({"a": 1, "b": 2})
        database["second"].insert_one({"a": 1})
        database.db.drop_collection("first")
        assert database.db.list_collection_names() == ["second"]
        database.client.drop_database(name)
        assert database.client[name].list_collection_names() == []
        # The same names again, from nothing.
        database.ensure_indexes()
        database["second"].insert_one({"a": 1})
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            database["second"].insert_one({"a": 1})
    finally:
        database.client.drop_database(name)
        database.close()
