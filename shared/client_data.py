"""A client's data rights in every service: export (GDPR articles 15 and 20, HIPAA right of access)
and erasure (GDPR article 17).

Each service declares where it keeps a client's records (``ClientRecords``: which collections name
the client in which top-level field, and which are found through another collection's ids) and
mounts ``blueprint(records, service)``; its worker subscribes ``subscriptions(...)``. Then:

- ``GET /v1/clients/{client_id}/export``: everything the service holds about the client, for the
  client (their own token) or staff of the tenant; read by equality on each collection.
- ``POST /v1/clients/{client_id}/erasure`` (admins, on any service): stores an erasure record
  carrying ``client.erasure_requested``. Every service's worker (each keeps every service's
  reports: an erasure is complete when each of ``SERVICES`` has reported) deletes the client's records
  from its own database and stores a report carrying ``client.erased``; every worker keeps every
  service's reports, so ``GET /v1/erasures/{id}`` on any service says which services are done.

Deleting is idempotent (a replayed request finds nothing left and reports again under the same
report id, which raises nothing twice). Kept on purpose: the erasure record and its reports
(that an erasure happened, who asked, when, how many records each service deleted: no health
data), and the access audit, which records who read whose records but never the records.
What cannot be recalled from here is in docs/CONTRACT.md ("Data rights").
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from shared.api import problems
from shared.app import service_context
from shared.auth import check_client_access, current_principal, requires
from shared.clock import rfc3339
from shared.errors import Problem
from shared.events.consumer import Subscription
from shared.events.envelope import new_event
from shared.events.registry import SERVICES
from shared.events.outbox import with_events
from shared.mongo import Database, Index, Scope, ScopedCollection, insert_once
from shared.schemas import UtcDateTime

log = logging.getLogger(__name__)

ERASURES = "client_erasures"
ERASURE_REPORTS = "client_erasure_reports"
EXPORT_FORMAT = "stepwise.client-export.v1"
# Bookkeeping fields of stored records that say nothing about the client.
_INTERNAL = ("outbox", "outbox_slot", "idempotency")
_NAMESPACE = uuid.UUID("0d4f7a52-3c1e-4b8e-9f6a-2b5d8c7e1a90")


@dataclass(frozen=True)
class Through:
    """Records found by the ids of another collection's client records: ``collection`` whose
    ``field`` holds an ``_id`` of ``parent`` (e.g. a goal's history by ``goal_id``)."""

    collection: str
    field: str
    parent: str


@dataclass(frozen=True)
class ClientRecords:
    """Where one service keeps a client's records. ``by_client``: (collection, the top-level field
    holding the client's id), each indexed with the tenant; ``through``: records found by a
    parent's ids (read before the parents are deleted)."""

    by_client: Sequence[tuple[str, str]]
    through: Sequence[Through] = ()

    def indexes(self, declared: Sequence[Index]) -> list[Index]:
        """The indexes export and erasure need that ``declared`` lacks: ``(tenant, field)`` for each
        ``by_client`` collection, unless a declared index starts with those keys (a ``through``
        collection is found by its parent ids through the index its service reads it by)."""
        def covered(collection: str, keys: list[tuple[str, int]]) -> bool:
            return any(index.collection == collection and list(index.keys)[:len(keys)] == keys for index in declared)

        wanted = [(collection, [("tenant", 1), (field, 1)]) for collection, field in self.by_client]
        return [Index(collection, keys) for collection, keys in wanted if not covered(collection, keys)]

    def _parent_ids(self, database: Database, tenant: str, client_id: str, parent: str) -> list[str]:
        field = dict(self.by_client)[parent]
        return [doc["_id"] for doc in database[parent].find({"tenant": tenant, field: client_id}, {"_id": 1})]

    def export(self, database: Database, tenant: str, client_id: str) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        for through in self.through:
            for parent_id in self._parent_ids(database, tenant, client_id, through.parent):
                found.setdefault(through.collection, []).extend(
                    database[through.collection].find({"tenant": tenant, through.field: parent_id}))
        for collection, field in self.by_client:
            found.setdefault(collection, []).extend(database[collection].find({"tenant": tenant, field: client_id}))
        return {name: [_plain(doc) for doc in docs] for name, docs in found.items()}

    def erase(self, database: Database, tenant: str, client_id: str) -> int:
        """Delete the client's records; returns how many. The ``through`` records go first, while
        their parents still say which they are."""
        deleted = 0
        for through in self.through:
            for parent_id in self._parent_ids(database, tenant, client_id, through.parent):
                deleted += database[through.collection].delete_many({"tenant": tenant, through.field: parent_id}).deleted_count
        for collection, field in self.by_client:
            deleted += database[collection].delete_many({"tenant": tenant, field: client_id}).deleted_count
        return deleted


def indexes() -> list[Index]:
    """The erasure's own records: an erasure's reports, by erasure."""
    return [Index(ERASURE_REPORTS, [("tenant", 1), ("erasure_id", 1)])]


def _plain(value: Any) -> Any:
    """A stored value as JSON: times in RFC 3339, bookkeeping left out."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items() if key not in _INTERNAL and key != "tenant"}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return rfc3339(value)
    return value


# The handlers of the erasure's two events, for each service's worker.

def report_id(erasure_id: str, service: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{erasure_id}\x1f{service}"))


def _report(tenant: str, erased: Mapping[str, Any]) -> dict:
    """The stored report of one service's part, from its ``client.erased`` data: the same record
    in the service that erased and in every service that keeps the report."""
    return {"_id": report_id(erased["erasure_id"], erased["service"]), "tenant": tenant,
            **{key: erased[key] for key in ("erasure_id", "client_id", "service", "erased_at", "records_deleted")}}


def subscriptions(database: Database, records: ClientRecords, service: str, clock) -> list[Subscription]:
    """``<service>.erasure`` erases this service's part; ``<service>.erased`` keeps every
    service's report, so any service can say whether an erasure is complete."""

    def erase(event: dict) -> None:
        tenant, data = event["tenantid"], event["data"]
        deleted = records.erase(database, tenant, data["client_id"])
        now = clock.now()
        erased = {"erasure_id": data["erasure_id"], "client_id": data["client_id"], "service": service,
                  "records_deleted": deleted, "erased_at": rfc3339(now)}
        report = _report(tenant, erased)
        event_out = new_event("client.erased", tenant=tenant, subject=data["erasure_id"], time=now,
                              event_id=report["_id"], service=service, data=erased)
        insert_once(database[ERASURE_REPORTS], with_events(report, [event_out], now))
        log.info("client erased", extra={"event_id": event["id"], "erasure_id": data["erasure_id"], "deleted": deleted})

    def keep_report(event: dict) -> None:
        insert_once(database[ERASURE_REPORTS], _report(event["tenantid"], event["data"]))

    return [
        Subscription(f"{service}.erasure", ["client.erasure_requested"], erase),
        Subscription(f"{service}.erased", ["client.erased"], keep_report),
    ]


# The routes.

class ExportSchema(Schema):
    format = fields.String(required=True, metadata={"example": EXPORT_FORMAT})
    service = fields.String(required=True)
    client_id = fields.String(required=True)
    exported_at = UtcDateTime(required=True)
    records = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()), required=True,
                          metadata={"description": "Each collection's records about the client, as stored"})


class ErasureRequestSchema(Schema):
    reason = fields.String(load_default=None, metadata={"description": "why (kept with the erasure; no health data)"})


class ErasureReportSchema(Schema):
    service = fields.String()
    erased_at = fields.String()
    records_deleted = fields.Integer()


class ErasureSchema(Schema):
    id = fields.String()
    client_id = fields.String()
    requested_by = fields.String(allow_none=True, metadata={"description": "null when asked of another service"})
    requested_at = UtcDateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    reports = fields.List(fields.Nested(ErasureReportSchema))
    complete = fields.Boolean(metadata={"description": "every service has erased its part"})


def _erasure_view(erasure: Mapping[str, Any], reports: Iterable[Mapping[str, Any]]) -> dict:
    shown = sorted(({"service": r["service"], "erased_at": r["erased_at"], "records_deleted": r["records_deleted"]}
                    for r in reports), key=lambda r: r["service"])
    return {
        "id": erasure["_id"], "client_id": erasure["client_id"], "requested_by": erasure["requested_by"],
        "requested_at": erasure["requested_at"], "reason": erasure.get("reason"), "reports": shown,
        "complete": {r["service"] for r in shown} >= set(SERVICES),
    }


def blueprint(records: ClientRecords, service: str) -> Blueprint:
    blp = Blueprint(f"{service}-client-data", __name__, url_prefix="/v1",
                    description="A client's data: export and erasure (data rights).")

    @blp.route("/clients/<client_id>/export")
    @requires()
    @blp.response(200, ExportSchema)
    @problems(blp, 401, 403)
    def export(client_id: str):
        """Everything this service holds about the client (the client, or staff of the tenant)."""
        principal = current_principal()
        check_client_access(principal, client_id)
        context = service_context()
        return {
            "format": EXPORT_FORMAT, "service": service, "client_id": client_id,
            "exported_at": context.clock.now(),
            "records": records.export(context.database, principal.scope.tenant, client_id),
        }

    @blp.route("/clients/<client_id>/erasure", methods=["POST"])
    @requires("admin")
    @blp.arguments(ErasureRequestSchema)
    @blp.response(202, ErasureSchema)
    @problems(blp, 400, 401, 403, 413, 415, 422)
    def request_erasure(body, client_id: str):
        """Erase the client in every service (admins). Answers at once; the services erase
        through events, and ``GET /v1/erasures/{id}`` shows when each is done."""
        principal = current_principal()
        context = service_context()
        now = context.clock.now()
        erasure = {
            "_id": str(uuid.uuid4()), "client_id": client_id, "requested_by": principal.sub,
            "requested_at": now, "reason": body.get("reason"),
        }
        event = new_event("client.erasure_requested", tenant=principal.scope.tenant, subject=erasure["_id"], time=now,
                          service=service,
                          data={"erasure_id": erasure["_id"], "client_id": client_id, "requested_by": principal.sub})
        scoped = ScopedCollection(context.database[ERASURES], principal.scope, client_field=None)
        scoped.insert_one(with_events(erasure, [event], now))
        return _erasure_view(erasure, [])

    @blp.route("/erasures/<erasure_id>")
    @requires("admin")
    @blp.response(200, ErasureSchema)
    @problems(blp, 401, 403, 404)
    def get_erasure(erasure_id: str):
        """An erasure and the services that have done their part."""
        principal = current_principal()
        database = service_context().database
        reports = list(ScopedCollection(database[ERASURE_REPORTS], principal.scope, client_field=None)
                       .find({"erasure_id": erasure_id}))
        erasure = ScopedCollection(database[ERASURES], principal.scope, client_field=None).find_by_id(erasure_id)
        if erasure is None:
            if not reports:
                raise Problem(404, "No such erasure in this clinic")
            # Requested on another service: what the reports say of it.
            first = reports[0]
            erasure = {"_id": erasure_id, "client_id": first["client_id"], "requested_by": None,
                       "requested_at": None, "reason": None}
        return _erasure_view(erasure, reports)

    return blp


def outbox_collections() -> tuple[str, ...]:
    """The erasure's records that carry events, for each service's relay."""
    return (ERASURES, ERASURE_REPORTS)

