"""MongoDB access: a lazily opened client per process, indexes ensured at start, tenant scoping.

Why lazy: gunicorn forks its workers after importing the app, and a MongoClient must not be
shared across a fork. ``Database.db`` opens the client on first use in each process.

Why a scoped collection: every record carries its tenant, and a query that forgets the tenant
is how one clinic reads another's records. ``ScopedCollection`` adds the tenant (and, for a
client, the client's own id) to every filter and stamps it on every insert, so a repository
built on it cannot forget. For the same reason it notes the client of every record it reads or
writes for the access audit (``shared.audit_trail``, ``shared.audit``).

The code runs on MongoDB 7 and on FerretDB v1, which has no multi-document transactions and
whose updates are read-modify-write. Hence: claims and de-duplication are inserts under unique
indexes (``insert_once``), and new facts are appended as new documents.

Inserts go through ``shared.journal.insert_document`` so that a document carrying events (built
with ``shared.events.outbox.with_events``) is journalled for the outbox relay: insert such a
document only through ``ScopedCollection`` or ``insert_once``, never with a raw pymongo insert.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import pymongo
from pymongo.collection import Collection
from pymongo.cursor import Cursor
from pymongo.errors import DuplicateKeyError, OperationFailure

from shared import audit_trail
from shared.journal import insert_document

log = logging.getLogger(__name__)


NOT_IMPLEMENTED = 238


@dataclass(frozen=True)
class Index:
    """An index a service declares; ``expire_after_seconds`` makes it a TTL index where the
    server has them (``shared.retention`` deletes expired documents where it has not)."""

    collection: str
    keys: Sequence[tuple[str, int]]
    unique: bool = False
    name: str | None = None
    expire_after_seconds: int | None = None

    def model(self, ttl: bool = True) -> pymongo.IndexModel:
        options: dict[str, Any] = {"unique": self.unique}
        if self.name:
            options["name"] = self.name
        if ttl and self.expire_after_seconds is not None:
            options["expireAfterSeconds"] = self.expire_after_seconds
        return pymongo.IndexModel(list(self.keys), **options)


class Database:
    """One service's database, opened lazily in each process, with its indexes ensured once."""

    def __init__(self, url: str, name: str, indexes: Iterable[Index] = (), timeout_ms: int = 5000):
        self.url = url
        self.name = name
        self.indexes = tuple(indexes)
        self.timeout_ms = timeout_ms
        self._client: pymongo.MongoClient | None = None
        self._pid: int | None = None
        self._indexed = False
        self._lock = threading.Lock()

    @property
    def client(self) -> pymongo.MongoClient:
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                self._client = pymongo.MongoClient(
                    self.url, serverSelectionTimeoutMS=self.timeout_ms, tz_aware=True, connect=False
                )
                self._pid = os.getpid()
                self._indexed = False
            return self._client

    @property
    def db(self) -> pymongo.database.Database:
        client = self.client
        if not self._indexed:
            self.ensure_indexes()
        return client[self.name]

    def __getitem__(self, collection: str) -> Collection:
        return self.db[collection]

    def ensure_indexes(self) -> None:
        self.ensure(self.indexes)
        self._indexed = True

    def ensure(self, indexes: Iterable[Index]) -> None:
        """Create ``indexes`` unless they exist (the declared ones, or a shared component's own)."""
        database = self.client[self.name]
        for index in indexes:
            # One index per command: FerretDB v1 drops the connection when one createIndexes
            # command names several indexes that all exist already, i.e. on every restart.
            try:
                database[index.collection].create_indexes([index.model()])
            except OperationFailure as exc:
                if exc.code != NOT_IMPLEMENTED or index.expire_after_seconds is None:
                    raise
                # A server without TTL indexes (FerretDB v1): a plain index serves the lookups,
                # and the retention job deletes what has expired.
                log.info("server has no TTL indexes; expired documents are purged by the worker",
                         extra={"collection": index.collection})
                database[index.collection].create_indexes([index.model(ttl=False)])

    def ping(self) -> None:
        self.client.admin.command("ping")

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._pid == os.getpid():
                self._client.close()
            self._client = None


# A writer that loses the race for a derived id (a goal's next revision seq, the next place in a
# client's series) to another that was stored re-reads and tries again, so with n writers at once
# each is stored within n attempts; one that loses this many times in a row gets a 409.
CLAIM_ATTEMPTS = 10


def insert_once(collection: Collection, document: Mapping[str, Any]) -> bool:
    """Insert ``document`` unless its unique key exists; True when this call inserted it.

    This is the project's one way to make a claim ("I raise this reminder") or to de-duplicate
    ("this event was handled"): a unique index decides, atomically, on MongoDB and FerretDB.
    """
    try:
        insert_document(collection, document)
        return True
    except DuplicateKeyError:
        return False


@dataclass(frozen=True)
class Scope:
    """Whose records a caller may touch: a tenant, and for a client only its own records."""

    tenant: str
    client_id: str | None = None

    def restrict(self, query: Mapping[str, Any] | None = None, client_field: str | None = "client_id") -> dict:
        scoped = dict(query or {})
        scoped["tenant"] = self.tenant
        if self.client_id is not None and client_field is not None:
            scoped[client_field] = self.client_id
        return scoped


class NotedCursor:
    """A pymongo cursor (``sort``, ``limit``, iteration) whose documents note their client in the
    access audit's trail (``shared.audit_trail``) as they are read."""

    def __init__(self, cursor: Cursor):
        self.cursor = cursor

    def sort(self, *args: Any, **kwargs: Any) -> "NotedCursor":
        self.cursor.sort(*args, **kwargs)
        return self

    def limit(self, count: int) -> "NotedCursor":
        self.cursor.limit(count)
        return self

    def __iter__(self):
        return iter(audit_trail.note_records(self.cursor))


class ScopeViolation(Exception):
    """A write names another tenant or, for a client, another client."""


@dataclass
class ScopedCollection:
    """A collection seen through a Scope: every filter is restricted, every insert stamped.

    ``client_field`` names the field holding the client id; None for collections that are not
    about one client (e.g. webhook subscriptions), where only the tenant applies.
    """

    collection: Collection
    scope: Scope
    client_field: str | None = "client_id"

    def _restrict(self, query: Mapping[str, Any] | None) -> dict:
        return self.scope.restrict(query, self.client_field)

    def _stamp(self, document: Mapping[str, Any]) -> dict:
        stamped = dict(document)
        if stamped.setdefault("tenant", self.scope.tenant) != self.scope.tenant:
            raise ScopeViolation("document belongs to another tenant")
        if self.scope.client_id is not None and self.client_field is not None:
            if stamped.get(self.client_field) != self.scope.client_id:
                raise ScopeViolation("a client may only write its own records")
        return stamped

    def find_one(self, query: Mapping[str, Any] | None = None, **kwargs: Any) -> dict | None:
        return _noted(self.collection.find_one(self._restrict(query), **kwargs))

    def find_by_id(self, record_id: Any) -> dict | None:
        """The record with this ``_id`` if it is in scope, else None (as if it did not exist).

        The query names ``_id`` alone and the scope is checked on the document found: the lookup
        reads the ``_id`` index on MongoDB and on FerretDB v1 (on PostgreSQL, docs/STORAGE.md).
        """
        document = self.collection.find_one({"_id": record_id})
        if document is None or document.get("tenant") != self.scope.tenant:
            return None
        if self.scope.client_id is not None and self.client_field is not None:
            if document.get(self.client_field) != self.scope.client_id:
                return None
        return _noted(document)

    def find(self, query: Mapping[str, Any] | None = None, **kwargs: Any) -> NotedCursor:
        return NotedCursor(self.collection.find(self._restrict(query), **kwargs))

    def count(self, query: Mapping[str, Any] | None = None) -> int:
        return self.collection.count_documents(self._restrict(query))

    def insert_one(self, document: Mapping[str, Any]) -> dict:
        """Insert (journalling the document's events, if it carries any); returns what was stored."""
        return insert_document(self.collection, _noted(self._stamp(document)))

    def insert_once(self, document: Mapping[str, Any]) -> bool:
        return insert_once(self.collection, _noted(self._stamp(document)))

    def update_one(self, query: Mapping[str, Any], update: Mapping[str, Any], **kwargs: Any):
        return self.collection.update_one(self._restrict(query), update, **kwargs)

    def replace_one(self, query: Mapping[str, Any], document: Mapping[str, Any], **kwargs: Any):
        return self.collection.replace_one(self._restrict(query), _noted(self._stamp(document)), **kwargs)

    def delete_one(self, query: Mapping[str, Any]):
        return self.collection.delete_one(self._restrict(query))

    def delete_many(self, query: Mapping[str, Any]):
        return self.collection.delete_many(self._restrict(query))


def _noted(document: dict | None) -> dict | None:
    if document is not None:
        audit_trail.note(document.get("client_id"))
    return document


class TenantRepository:
    """Base for a service's repositories: every collection it opens is scoped to the caller.

    A subclass names its main collection in ``collection_name`` and reaches it as
    ``self.records``; ``self.scoped(name)`` opens any other collection the same way.
    """

    collection_name: str = ""
    client_field: str | None = "client_id"

    def __init__(self, database: Database, scope: Scope):
        self.database = database
        self.scope = scope

    def scoped(self, name: str, client_field: str | None = "client_id") -> ScopedCollection:
        return ScopedCollection(self.database[name], self.scope, client_field)

    @property
    def records(self) -> ScopedCollection:
        return self.scoped(self.collection_name, self.client_field)
