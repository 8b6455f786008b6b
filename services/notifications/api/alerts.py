"""``/v1/alerts``: risk alerts, their history, and acknowledging them.

Only staff see alerts. An alert says why it went to the admins at once when it did
(``routing_reason``: the client's care team has no clinician). Acknowledging appends the
``acknowledged`` history entry (with the optional note and action taken) under the alert's one
id for it, so of two therapists acknowledging at once exactly one succeeds and the other gets 409. One alert is read replayed from its history; a list is read from the copy of
each alert's state on its record (see ``adapters.alerts``).
"""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.notifications import metrics
from services.notifications.adapters.alerts import Alerts, entry_fields
from services.notifications.api.common import database, not_found, now
from shared.api import problems
from services.notifications.domain.escalation import (
    ACKNOWLEDGED,
    DELIVERED,
    ESCALATED,
    RAISED,
    Alert,
    InvalidTransition,
    acknowledge,
    reached_inbox_at,
)
from services.notifications.domain.rules import NO_CARE_TEAM, NO_CLINICIAN_ON_CARE_TEAM
from shared.auth import STAFF, check_client_access, current_principal, requires
from shared.errors import Problem
from shared.paging import PageQuery
from shared.schemas import Id, UtcDateTime, page_of

blp = Blueprint("alerts", __name__, url_prefix="/v1/alerts", description="Risk alerts and their acknowledgement.")

STATUSES = (RAISED, DELIVERED, ACKNOWLEDGED, ESCALATED)
MAX_NOTE = 2000
MAX_ACTION = 200


class FlagSchema(Schema):
    code = fields.String()
    item = fields.Raw()
    value = fields.Raw()


ROUTING_REASONS = f"{NO_CARE_TEAM} or {NO_CLINICIAN_ON_CARE_TEAM}"


class HistoryEntrySchema(Schema):
    action = fields.String(metadata={"description": "raised, delivered, acknowledged or escalated"})
    at = UtcDateTime()
    by = fields.String(allow_none=True, metadata={"description": "who acknowledged"})
    recipients = fields.List(fields.String(), metadata={"description": "who was told (raised, delivered, escalated)"})
    channel = fields.String(allow_none=True, metadata={"description": "where a delivery reached them"})
    reason = fields.String(allow_none=True, metadata={
        "description": f"raised: why it went to the admins at once ({ROUTING_REASONS}); null when clinicians were told"})
    note = fields.String(allow_none=True, metadata={"description": "acknowledged: the note given"})
    action_taken = fields.String(allow_none=True, metadata={"description": "acknowledged: the action taken"})


class AcknowledgeBodySchema(Schema):
    note = fields.String(load_default=None, validate=validate.Length(min=1, max=MAX_NOTE),
                         metadata={"description": "anything the next reader should know"})
    action_taken = fields.String(load_default=None, validate=validate.Length(min=1, max=MAX_ACTION),
                                 metadata={"description": "what was done, in the clinic's words "
                                                          "(e.g. called the client, safety plan reviewed)"})


class AlertSchema(Schema):
    id = fields.String()
    client_id = fields.String()
    status = fields.String(metadata={"description": " | ".join(STATUSES)})
    event_id = fields.String(metadata={"description": "the risk.flagged event"})
    instrument = fields.String(allow_none=True)
    response_id = fields.String(allow_none=True)
    flags = fields.List(fields.Nested(FlagSchema))
    recipients = fields.List(fields.String(), metadata={"description": "who was first told"})
    routing_reason = fields.String(allow_none=True, metadata={
        "description": f"why it went to the admins at once ({ROUTING_REASONS}); null when clinicians were told"})
    flagged_at = UtcDateTime(allow_none=True)
    raised_at = UtcDateTime()
    escalate_at = UtcDateTime(metadata={"description": "when it goes to the admins unless acknowledged"})
    history = fields.List(fields.Nested(HistoryEntrySchema))


class AlertQuery(PageQuery):
    client_id = Id()
    status = fields.String(validate=validate.OneOf(STATUSES))


def _view(document: dict, alert: Alert) -> dict:
    return {
        "id": alert.id,
        "client_id": alert.client_id,
        "status": alert.status,
        "event_id": alert.event_id,
        "instrument": alert.context.get("instrument"),
        "response_id": alert.context.get("response_id"),
        "flags": alert.context.get("flags") or [],
        "recipients": list(alert.recipients),
        "routing_reason": document.get("routing_reason"),
        "flagged_at": document.get("flagged_at"),
        "raised_at": alert.raised_at,
        "escalate_at": document["escalate_at"],
        "history": [entry_fields(e) for e in alert.history],
    }


def _found(alerts: Alerts, alert_id: str) -> tuple[dict, Alert]:
    found = alerts.get(alert_id)
    if found is None:
        raise not_found("alert")
    return found


@blp.route("")
@requires(*STAFF)
@blp.arguments(AlertQuery, location="query")
@blp.response(200, page_of(AlertSchema))
@problems(blp, 401, 403, 422)
def list_alerts(query):
    """Risk alerts, newest first, by client and status."""
    principal = current_principal()
    if query.get("client_id"):
        check_client_access(principal, query["client_id"])
    items, cursor = Alerts(database(), principal.scope).page(
        query.get("client_id"), query.get("status"), query["limit"], query["cursor"]
    )
    return {"items": [_view(document, alert) for document, alert in items], "next_cursor": cursor}


@blp.route("/<alert_id>")
@requires(*STAFF)
@blp.response(200, AlertSchema)
@problems(blp, 401, 403, 404)
def get_alert(alert_id: str):
    """One alert with its history: raised, delivered, acknowledged, escalated."""
    return _view(*_found(Alerts(database(), current_principal().scope), alert_id))


@blp.route("/<alert_id>/acknowledge", methods=["POST"])
@requires("therapist", "admin")
@blp.arguments(AcknowledgeBodySchema, required=False)
@blp.response(200, AlertSchema)
@problems(blp, 400, 401, 403, 404, 409, 413, 415, 422)
def acknowledge_alert(body, alert_id: str):
    """Say you have the alert in hand, optionally with the action taken and a note (both kept in
    its history); it is then not escalated. The body may be left out. Acknowledging twice is 409."""
    principal = current_principal()
    alerts = Alerts(database(), principal.scope)
    _, alert = _found(alerts, alert_id)
    moment = now()
    try:
        acknowledged = acknowledge(alert, principal.sub, moment, body.get("note"), body.get("action_taken"))
    except InvalidTransition as exc:
        raise Problem(409, str(exc)) from None
    if not alerts.acknowledge(alert.id, alert.client_id, acknowledged.history[-1]):
        raise Problem(409, f"alert {alert.id} is already acknowledged")
    metrics.RISK_ALERT_ACKNOWLEDGE_DELAY.observe(max((moment - reached_inbox_at(alert)).total_seconds(), 0.0))
    return _view(*_found(alerts, alert_id))
