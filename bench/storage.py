"""Latency of the storage's hot operations on response-like documents, against the running server.

    python bench/storage.py [--docs 20000] [--samples 200] [--compare-btree-only [--postgres-url URL]]

Seeds a fresh database (MONGO_URL, default the local server of scripts/servers) with ``--docs``
scored-response-like documents (tenants, clients, instruments, a series of each client on each
instrument), declares the indexes the way the services do (``shared.mongo.Database``), then times,
``--samples`` times each on random targets, and prints p50 and p95:

- series:     ``find({tenant, client_id, instrument})``, a client's series on an instrument
- find_one:   ``find_one({_id})``
- update_one: ``update_one({_id}, {$set})``
- insert_one: a new response

``--compare-btree-only`` (FerretDB on PostgreSQL only): the same seed in a second database whose
GIN indexes (tools/ferretdb/gin_indexes.sql) are then dropped through psql, as if the event
trigger were not installed: PostgreSQL has only the btree indexes FerretDB creates. Both are
measured in the same run, and the ratio btree-only / GIN is printed per operation.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pymongo

from shared.config import DEFAULT_MONGO_URL
from shared.mongo import Database, Index

COLLECTION = "responses"
# As the questionnaires service declares them for its responses.
INDEXES = (
    Index(COLLECTION, [("tenant", 1), ("client_id", 1), ("instrument", 1), ("seq", 1)], unique=True, name="series_seq"),
    Index(COLLECTION, [("tenant", 1), ("completed_at", 1)]),
)
TENANTS = 5
INSTRUMENTS = ("phq9", "gad7", "who5")
SERIES_LENGTH = 10  # responses per client and instrument
INSERT_BATCH = 1000


def response(tenant: str, client_id: str, instrument: str, seq: int, at: datetime) -> dict:
    """A synthetic scored response, shaped like the questionnaires service's."""
    answers = [random.randint(0, 3) for _ in range(9)]
    event_id = str(uuid.uuid4())
    return {
        "_id": str(uuid.uuid4()),
        "tenant": tenant,
        "client_id": client_id,
        "instrument": instrument,
        "seq": seq,
        "completed_at": at,
        "answers": answers,
        "score": {"total": sum(answers), "severity": "moderate"},
        "baseline": seq == 1,
        "compared_with": {"previous": None, "baseline": None},
        "outbox": {"events": [{"id": event_id, "type": "questionnaire.scored"}], "written_at": at, "entry": event_id},
    }


def seed(database: pymongo.database.Database, docs: int) -> list[tuple[str, str, str]]:
    """Inserts ``docs`` responses; returns the series (tenant, client, instrument) they form."""
    clients = max(1, docs // (SERIES_LENGTH * len(INSTRUMENTS)))
    series = [
        (f"tenant-{n % TENANTS}", f"client-{n}", instrument) for n in range(clients) for instrument in INSTRUMENTS
    ]
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    batch: list[dict] = []
    for n in range(docs):
        tenant, client_id, instrument = series[n % len(series)]
        seq = n // len(series) + 1
        batch.append(response(tenant, client_id, instrument, seq, start + timedelta(minutes=n)))
        if len(batch) == INSERT_BATCH:
            database[COLLECTION].insert_many(batch, ordered=False)
            batch = []
    if batch:
        database[COLLECTION].insert_many(batch, ordered=False)
    return series


def timed(operation: Callable[[], object], samples: int) -> tuple[float, float]:
    """p50 and p95 of ``operation``, in milliseconds."""
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        operation()
        durations.append((time.perf_counter() - started) * 1000)
    quantiles = statistics.quantiles(durations, n=20, method="inclusive")
    return statistics.median(durations), quantiles[18]


def measure(database: pymongo.database.Database, series: list, samples: int) -> dict[str, tuple[float, float]]:
    collection = database[COLLECTION]
    ids = [doc["_id"] for doc in collection.find({}, {"_id": 1}).limit(5000)]
    rng = random.Random(7)

    def series_lookup():
        tenant, client_id, instrument = rng.choice(series)
        found = list(collection.find({"tenant": tenant, "client_id": client_id, "instrument": instrument}))
        assert found, "a seeded series came back empty"

    def find_one():
        assert collection.find_one({"_id": rng.choice(ids)}) is not None

    def update_one():
        assert collection.update_one({"_id": rng.choice(ids)}, {"$set": {"reviewed": True}}).matched_count == 1

    inserted = [0]

    def insert_one():
        inserted[0] += 1
        collection.insert_one(response("tenant-0", f"new-{uuid.uuid4().hex}", "phq9", 1, datetime.now(timezone.utc)))

    return {
        "series": timed(series_lookup, samples),
        "find_one": timed(find_one, samples),
        "update_one": timed(update_one, samples),
        "insert_one": timed(insert_one, samples),
    }


def psql(postgres_url: str, sql: str, **variables: str) -> str:
    command = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", postgres_url]
    for name, value in variables.items():
        command += ["-v", f"{name}={value}"]
    return subprocess.run(command, input=sql, capture_output=True, text=True, check=True).stdout.strip()


def drop_gin_indexes(postgres_url: str, database_name: str) -> int:
    """Drops the GIN indexes of FerretDB's schema for ``database_name``; returns how many there were."""
    count = psql(
        postgres_url,
        "SELECT count(*) FROM pg_indexes WHERE schemaname = :'db' AND indexdef LIKE '% USING gin %';",
        db=database_name,
    )
    psql(
        postgres_url,
        "SELECT format('DROP INDEX %I.%I', schemaname, indexname) FROM pg_indexes"
        " WHERE schemaname = :'db' AND indexdef LIKE '% USING gin %' \\gexec",
        db=database_name,
    )
    return int(count)


def prepared(client: pymongo.MongoClient, mongo_url: str, name: str, docs: int) -> tuple[pymongo.database.Database, list]:
    database = Database(mongo_url, name, INDEXES)
    database.ensure_indexes()
    database.close()
    random.seed(0)
    return client[name], seed(client[name], docs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--compare-btree-only", action="store_true")
    parser.add_argument(
        "--postgres-url",
        default=f"postgres://ferretdb@127.0.0.1:{os.environ.get('STEPWISE_POSTGRES_PORT', '54329')}/ferretdb",
        help="FerretDB's PostgreSQL database (default: the cluster of scripts/servers)",
    )
    args = parser.parse_args()
    mongo_url = os.environ.get("MONGO_URL", DEFAULT_MONGO_URL)
    client: pymongo.MongoClient[dict] = pymongo.MongoClient(mongo_url, tz_aware=True)
    run_id = uuid.uuid4().hex[:8]
    names = {"as-run": f"bench_storage_{run_id}_run"}
    if args.compare_btree_only:
        names["btree-only"] = f"bench_storage_{run_id}_btree"
    results = {}
    try:
        for label, name in names.items():
            started = time.perf_counter()
            database, series = prepared(client, mongo_url, name, args.docs)
            note = ""
            if label == "btree-only":
                note = f", dropped {drop_gin_indexes(args.postgres_url, name)} GIN indexes"
            print(f"{label}: seeded {args.docs} documents in {time.perf_counter() - started:.1f}s{note}", flush=True)
            results[label] = measure(database, series, args.samples)
    finally:
        for name in names.values():
            client.drop_database(name)

    print(f"\n{args.docs} documents, {args.samples} samples per operation, {mongo_url}")
    header = f"{'operation':<12}" + "".join(f"{label + ' p50':>16}{label + ' p95':>16}" for label in results)
    if len(results) == 2:
        header += f"{'p50 ratio':>12}"
    print(header + "   (ms)")
    for operation in results["as-run"]:
        line = f"{operation:<12}" + "".join(f"{r[operation][0]:16.1f}{r[operation][1]:16.1f}" for r in results.values())
        if len(results) == 2:
            line += f"{results['btree-only'][operation][0] / results['as-run'][operation][0]:11.1f}x"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
