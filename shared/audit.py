"""The access audit: who read or changed which client's records, and when (HIPAA Security Rule,
45 CFR 164.312(b), "audit controls").

**Which requests.** Each service sorts every route of its blueprints (``/v1``, and any other API
it adds) into those that read a client's records, those that change them, and those that touch
none (``RouteAudit``: instruments, a draft's SMART check, webhooks, preferences; the audit's own
route is added). An app with a route in none of the three, or naming a route it does not have,
refuses to start: a new route cannot be forgotten. (``/healthz``, ``/readyz``, ``/metrics`` and
the OpenAPI pages hold no records and are not the services' blueprints.)

**Which clients.** While an audited request runs, the clients it touches are noted
(``shared.audit_trail``): every record read or written through ``ScopedCollection``, every client
the request names (``check_client_access``) and a ``client_id`` in the path.

**When.** When an audited route answers with success (below 400), one record per client noted is
appended to ``access_audit`` in the service's own database *before the response leaves*. If that
write fails, the caller gets 503 instead of the answer, so nothing is shown without its record.
A change is already stored by then; it still names its author in its own history (a goal's
revisions and progress, a response's, an alert's acknowledgement), the failure is logged with the
request id, and the caller, seeing 503, may retry (with its ``Idempotency-Key`` where the route
takes one). A refused request (4xx) shows and changes nothing and leaves no audit record; the
request log keeps its route, status and request id.

**What a record holds**: ``tenant``, ``actor`` (the token's ``sub``), ``role``, ``client_id``,
``action`` (``read`` or ``change``), ``route`` (method and template), ``path`` (with the record's
ids), ``status``, ``request_id`` and ``at``. Never a body, an answer, a score or a note.

**Retention.** Audit records are never updated, deleted or expired by the services (they are not
bookkeeping: ``shared.retention`` does not touch them). A clinic that must delete them after its
own retention period (HIPAA asks six years of documentation, 45 CFR 164.316(b)(2)) does so in
the database, by ``day_no``.

Admins of a tenant read its records with ``GET /v1/audit`` on each service (by client, by actor,
in a time window), paged as a ``Listing`` a day at a time: equality lookups only.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Collection, Mapping

from flask import Flask, Response, current_app, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validates_schema
from pymongo.errors import PyMongoError

from shared import audit_trail
from shared.api import READ_PROBLEMS, problems
from shared.auth import Principal, current_principal, requires
from shared.errors import problem_response
from shared.mongo import Database, Index, Scope, ScopedCollection
from shared.paging import Listing, PageQuery
from shared.schemas import Id, UtcDateTime, page_of

log = logging.getLogger(__name__)

COLLECTION = "access_audit"
READ = "read"
CHANGE = "change"
AUDIT_ROUTE = "GET /v1/audit"
_EXTENSION = "stepwise.audit"

# A clinic's records, a client's, an actor's: newest first, a day at a time.
BY_TENANT = Listing("audit", ("tenant",), "at", period="day")
BY_CLIENT = Listing("audit-of-client", ("tenant", "client_id"), "at", period="day")
BY_ACTOR = Listing("audit-of-actor", ("tenant", "actor"), "at", period="day")


def indexes() -> list[Index]:
    return [*BY_TENANT.indexes(COLLECTION), *BY_CLIENT.indexes(COLLECTION), *BY_ACTOR.indexes(COLLECTION)]


@dataclass(frozen=True)
class RouteAudit:
    """A service's routes (``"GET /v1/goals/<goal_id>"``: method and Flask rule), sorted into
    those that read a client's records, those that change them, and those that touch none."""

    reads: Collection[str]
    changes: Collection[str]
    others: Collection[str]

    def action(self, route: str) -> str | None:
        if route in self.reads:
            return READ
        if route in self.changes:
            return CHANGE
        return None

    def check(self, app: Flask, blueprints: Collection[str]) -> None:
        """Refuse an app whose routes and lists differ: each route of ``blueprints`` (their names)
        is in exactly one list."""
        served = {
            f"{method} {rule.rule}"
            for rule in app.url_map.iter_rules()
            if rule.endpoint.partition(".")[0] in {*blueprints, blp.name}
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
        }
        listed = [*self.reads, *self.changes, *self.others, AUDIT_ROUTE]
        twice = {route for route in listed if listed.count(route) > 1}
        unlisted, unserved = served - set(listed), set(listed) - served
        if twice or unlisted or unserved:
            raise RuntimeError(
                "every route must be listed once as a read, a change or neither of a client's records "
                f"(shared.audit); not listed: {sorted(unlisted)}, listed but not served: {sorted(unserved)}, "
                f"listed twice: {sorted(twice)}"
            )


@dataclass(frozen=True)
class AccessAudit:
    """One service's audit: where its records go, its clock, and its routes' sorting."""

    database: Database
    clock: Any
    routes: RouteAudit

    def record(self, principal: Principal, action: str, route: str, clients: list[str], status: int) -> None:
        """Append one record per client touched by the current request (before it is answered)."""
        now = self.clock.now()
        records = []
        for client_id in clients:
            record = {
                "_id": str(uuid.uuid4()),
                "tenant": principal.tenant,
                "actor": principal.sub,
                "role": principal.role,
                "client_id": client_id,
                "action": action,
                "route": route,
                "path": request.path,
                "status": status,
                "request_id": g.get("request_id"),
                "at": now,
            }
            for listing in (BY_TENANT, BY_CLIENT, BY_ACTOR):
                record = listing.stamp(self.database, record)
            records.append(record)
        self.database[COLLECTION].insert_many(records)

    def page(self, tenant: str, query: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        records = ScopedCollection(self.database[COLLECTION], Scope(tenant), client_field=None)
        values: dict[str, Any] = {"tenant": tenant}
        where = {}
        if query.get("client_id"):
            listing, values["client_id"] = BY_CLIENT, query["client_id"]
            if query.get("actor"):
                where["actor"] = query["actor"]
        elif query.get("actor"):
            listing, values["actor"] = BY_ACTOR, query["actor"]
        else:
            listing = BY_TENANT
        return listing.page(
            self.database, records, values, limit=query["limit"], cursor=query["cursor"], where=where,
            since=query.get("since"), until=query.get("until"),
        )


def _route() -> str:
    rule = request.url_rule
    if rule is None:
        raise RuntimeError("only a request that matched a route is audited")
    method = "GET" if request.method == "HEAD" else request.method
    return f"{method} {rule.rule}"


def _begin() -> None:
    if request.url_rule is None:
        return
    action = current_app.extensions[_EXTENSION].routes.action(_route())
    if action is not None:
        g.audit_action = action
        g.audit_token = audit_trail.start()
        audit_trail.note((request.view_args or {}).get("client_id"))


def _write(response: Response) -> Response:
    action = g.get("audit_action")
    clients = audit_trail.noted()
    if action is None or response.status_code >= 400 or not clients:
        return response
    route = _route()
    try:
        current_app.extensions[_EXTENSION].record(g.principal, action, route, clients, response.status_code)
    except PyMongoError as exc:
        # The driver's message may quote a record's ids; the class and the request id say enough.
        log.error("access audit not written: the answer is withheld", extra={"route": route, "error": type(exc).__name__})
        return problem_response(
            503, "The access could not be recorded in the audit, so its answer is withheld; try again shortly",
            headers={"Retry-After": "1"},
        )
    return response


def _end(_exc: BaseException | None) -> None:
    token = g.pop("audit_token", None)
    if token is not None:
        audit_trail.stop(token)


def install_audit(app: Flask, database: Database, clock: Any, routes: RouteAudit, blueprints: Collection[str]) -> None:
    """Audit ``app``'s requests to the routes of ``blueprints`` (the service's, by name). Call
    after every blueprint is registered, and after the hooks that log the answer: the audit's own
    runs first, so a withheld answer is logged as such."""
    routes.check(app, blueprints)
    app.extensions[_EXTENSION] = AccessAudit(database, clock, routes)
    app.before_request(_begin)
    app.after_request(_write)
    app.teardown_request(_end)


class AuditQuery(PageQuery):
    client_id = Id(metadata={"description": "only accesses to this client's records"})
    actor = Id(metadata={"description": "only accesses by this user (a token's sub)"})
    since = UtcDateTime(metadata={"description": "only accesses at or after this time"})
    until = UtcDateTime(metadata={"description": "only accesses before this time"})

    @validates_schema
    def _window(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise ValidationError("must be after since", "until")


class AuditRecordSchema(Schema):
    id = fields.String(attribute="_id")
    at = UtcDateTime()
    tenant = fields.String()
    actor = fields.String(metadata={"description": "who: the token's sub"})
    role = fields.String()
    client_id = fields.String(metadata={"description": "whose records"})
    action = fields.String(metadata={"description": "read or change"})
    route = fields.String(metadata={"description": "method and route template, e.g. GET /v1/goals/<goal_id>"})
    path = fields.String(metadata={"description": "the path requested, with the record's ids"})
    status = fields.Integer()
    request_id = fields.String(metadata={"description": "the request's X-Request-ID"})


blp = Blueprint("audit", __name__, url_prefix="/v1", description="Who read or changed which client's records (admins).")


@blp.get("/audit")
@requires("admin")
@blp.arguments(AuditQuery, location="query")
@blp.response(200, page_of(AuditRecordSchema))
@problems(blp, *READ_PROBLEMS)
def list_audit(query: Mapping[str, Any]) -> dict[str, Any]:
    """Reads and changes of clients' records in this clinic, newest first: by client, actor, time.

    Records hold who, role, client, action, route, path, status, request id and time; never a
    body, an answer, a score or a note. They are kept: nothing expires them."""
    items, next_cursor = current_app.extensions[_EXTENSION].page(current_principal().tenant, query)
    return {"items": items, "next_cursor": next_cursor}
