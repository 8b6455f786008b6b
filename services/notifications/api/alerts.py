"""``/v1/alerts``: risk alerts, their history, and acknowledging them.

Only staff see alerts. An alert says why it went to the admins at once when it did
(``routing_reason``: the client's care team has no clinician). Acknowledging appends the
``acknowledged`` history entry (with the optional note and action taken) under the alert's one
id for it, so of two therapists acknowledging at once exactly one succeeds and the other gets 409. One alert is read replayed from its history; a list is read from the copy of
each alert's state on its record (see ``adapters.alerts``).
"""
from __future__ import annotations

from flask_smorest import Blueprint

from services.notifications.api.common import caller_clinic
from services.notifications.api.schemas import AcknowledgeBodySchema, AlertQuery, AlertSchema
from services.notifications.views import alert_view
from shared.api import problems
from shared.auth import STAFF, check_client_access, current_principal, requires
from shared.schemas import page_of

blp = Blueprint("alerts", __name__, url_prefix="/v1/alerts", description="Risk alerts and their acknowledgement.")


@blp.route("")
@requires(*STAFF)
@blp.arguments(AlertQuery, location="query")
@blp.response(200, page_of(AlertSchema))
@problems(blp, 401, 403, 422)
def list_alerts(query):
    """Risk alerts, newest first, by client and status."""
    if query.get("client_id"):
        check_client_access(current_principal(), query["client_id"])
    items, cursor = caller_clinic().alerts(query.get("client_id"), query.get("status"), query["limit"], query["cursor"])
    return {"items": [alert_view(document, alert) for document, alert in items], "next_cursor": cursor}


@blp.route("/<alert_id>")
@requires(*STAFF)
@blp.response(200, AlertSchema)
@problems(blp, 401, 403, 404)
def get_alert(alert_id: str):
    """One alert with its history: raised, delivered, acknowledged, escalated."""
    return alert_view(*caller_clinic().alert(alert_id))


@blp.route("/<alert_id>/acknowledge", methods=["POST"])
@requires("therapist", "admin")
@blp.arguments(AcknowledgeBodySchema, required=False)
@blp.response(200, AlertSchema)
@problems(blp, 400, 401, 403, 404, 409, 413, 415, 422)
def acknowledge_alert(body, alert_id: str):
    """Say you have the alert in hand, optionally with the action taken and a note (both kept in
    its history); it is then not escalated. The body may be left out. Acknowledging twice is 409."""
    return alert_view(*caller_clinic().acknowledge(alert_id, body.get("note"), body.get("action_taken")))
