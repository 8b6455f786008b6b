"""Dump a service's database to files and restore it, in mongodump's directory layout.

    scripts/backup  --out DIR [--database NAME ...]            (default: the three service databases)
    scripts/restore --from DIR/NAME --database TARGET [--drop]

Both read ``MONGO_URL`` (or ``--mongo-url``). A dump is ``DIR/<database>/<collection>.bson`` (the
documents, BSON one after the other, byte for byte as stored) and
``<collection>.metadata.json`` (indexes and options, canonical Extended JSON): the layout of
mongodump, so MongoDB's mongorestore reads these dumps, and this restore reads mongodump's
(uncompressed, not ``--archive``).

Why this and not mongodump here: the project's machines and CI cannot install MongoDB's
database tools, and the restore must be tested (tests/integration/test_backup_restore.py). On a
replica set in production, prefer the platform's snapshots or ``mongodump --oplog`` (a
point-in-time dump); this tool reads each collection in turn, which is consistent only for a
quiet database (stop the workers and APIs, or accept that records written during the dump may be
missing). docs/DEPLOY.md says what a restore implies for events.

Documents are restored as they were stored, without the service's code: no tenant scoping, no
journalling, so a restore writes exactly what was dumped (the outbox journal included).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Iterator, Sequence

import bson
import pymongo
from bson import json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

SERVICE_DATABASES = ("stepwise_goals", "stepwise_questionnaires", "stepwise_notifications")
RAW = CodecOptions(document_class=RawBSONDocument)
INSERT_BATCH = 1000
# Index fields that describe the index rather than configure it.
INDEX_DESCRIPTION = ("v", "key", "ns")


class RestoreRefused(Exception):
    """The target database is not empty, and --drop was not given."""


def dump_database(client: pymongo.MongoClient, database: str, out: Path) -> dict[str, int]:
    """Write ``database`` under ``out/<database>``; returns documents written per collection."""
    source = client.get_database(database, codec_options=RAW)
    target = out / database
    target.mkdir(parents=True, exist_ok=True)
    counts = {}
    for info in source.list_collections():
        if info.get("type", "collection") != "collection" or info["name"].startswith("system."):
            continue
        name = info["name"]
        collection = source[name]
        written = 0
        with open(target / f"{name}.bson", "wb") as documents:
            for document in collection.find():
                documents.write(document.raw)
                written += 1
        metadata = {
            "indexes": [dict(index) for index in collection.with_options(codec_options=CodecOptions()).list_indexes()],
            "options": dict(info.get("options") or {}),
            "collectionName": name,
            "type": "collection",
        }
        for index in metadata["indexes"]:
            index.pop("ns", None)
        (target / f"{name}.metadata.json").write_text(
            json_util.dumps(metadata, json_options=json_util.CANONICAL_JSON_OPTIONS)
        )
        counts[name] = written
    return counts


def _documents(path: Path) -> Iterator[RawBSONDocument]:
    with open(path, "rb") as documents:
        yield from bson.decode_file_iter(documents, codec_options=RAW)


def _batches(documents: Iterator[RawBSONDocument], size: int) -> Iterator[list[RawBSONDocument]]:
    batch: list[RawBSONDocument] = []
    for document in documents:
        batch.append(document)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def restore_database(client: pymongo.MongoClient, source: Path, database: str, drop: bool = False) -> dict[str, int]:
    """Load the dump in ``source`` (one database's directory) into ``database``.

    Refuses a database that already has collections unless ``drop``, which drops each dumped
    collection first. Documents go in before the indexes, as mongorestore does.
    """
    target = client.get_database(database, codec_options=RAW)
    names = sorted(path.name[: -len(".metadata.json")] for path in source.glob("*.metadata.json"))
    if not names:
        raise FileNotFoundError(f"{source} holds no dump (no <collection>.metadata.json)")
    existing = set(target.list_collection_names())
    if existing and not drop:
        raise RestoreRefused(
            f"database {database} is not empty ({', '.join(sorted(existing))}); restore into a new database or pass --drop"
        )
    counts = {}
    for name in names:
        metadata = json_util.loads((source / f"{name}.metadata.json").read_text())
        if drop:
            target.drop_collection(name)
        options = metadata.get("options") or {}
        if options:
            target.create_collection(name, **options)
        restored = 0
        data = source / f"{name}.bson"
        if data.exists():
            for batch in _batches(_documents(data), INSERT_BATCH):
                target[name].insert_many(batch, ordered=True)
                restored += len(batch)
        indexes = [
            pymongo.IndexModel(list(index["key"].items()), name=index["name"],
                               **{k: v for k, v in index.items() if k not in (*INDEX_DESCRIPTION, "name")})
            for index in metadata.get("indexes", [])
            if index["name"] != "_id_"
        ]
        # One index per command: FerretDB v1 drops the connection on a createIndexes that names
        # several existing indexes (see shared/mongo.py).
        for index in indexes:
            target[name].create_indexes([index])
        counts[name] = restored
    return counts


def _client(url: str) -> pymongo.MongoClient:
    return pymongo.MongoClient(url, serverSelectionTimeoutMS=10_000, tz_aware=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.dbdump", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    dump = commands.add_parser("dump", help="dump databases to a directory")
    dump.add_argument("--out", type=Path, required=True, help="directory to write (one subdirectory per database)")
    dump.add_argument("--database", action="append", help=f"a database to dump (default: {', '.join(SERVICE_DATABASES)})")
    restore = commands.add_parser("restore", help="restore one database's dump")
    restore.add_argument("--from", dest="source", type=Path, required=True, help="the dump of one database (DIR/<database>)")
    restore.add_argument("--database", required=True, help="the database to restore into")
    restore.add_argument("--drop", action="store_true", help="drop each dumped collection before restoring it")
    for command in (dump, restore):
        command.add_argument("--mongo-url", default=os.environ.get("MONGO_URL", "mongodb://127.0.0.1:27017"),
                             help="default: $MONGO_URL, else mongodb://127.0.0.1:27017")
    args = parser.parse_args(argv)

    client = _client(args.mongo_url)
    try:
        if args.command == "dump":
            for database in args.database or SERVICE_DATABASES:
                counts = dump_database(client, database, args.out)
                print(f"[backup] {database}: {sum(counts.values())} documents in {len(counts)} collections -> {args.out / database}")
        else:
            try:
                counts = restore_database(client, args.source, args.database, args.drop)
            except (RestoreRefused, FileNotFoundError) as exc:
                print(f"[restore] ERROR: {exc}", file=sys.stderr)
                return 1
            print(f"[restore] {args.database}: {sum(counts.values())} documents in {len(counts)} collections from {args.source}")
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
