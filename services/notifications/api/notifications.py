"""``/v1/notifications``: each person's inbox, and marking a notification read."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.notifications.adapters.notifications import Notifications
from services.notifications.api.common import ADMINISTRATORS, database, not_found, now, require_self_or_administrator
from shared.api import problems
from shared.auth import current_principal, requires
from shared.errors import Problem
from shared.paging import PageQuery
from shared.schemas import Id, UtcDateTime, page_of

blp = Blueprint("notifications", __name__, url_prefix="/v1/notifications", description="The inbox: what each person was told.")


class NotificationSchema(Schema):
    id = fields.String(attribute="_id")
    type = fields.String(metadata={
        "description": "risk_alert, risk_alert_escalated, reminder, milestone, goal_achieved, deterioration, not_on_track"})
    priority = fields.String(metadata={"description": "urgent or normal"})
    recipient_id = fields.String()
    client_id = fields.String(allow_none=True)
    title = fields.String()
    body = fields.String(metadata={"description": "plain text, paragraphs separated by a blank line"})
    html = fields.String(metadata={"description": "the same as an escaped HTML fragment"})
    alert_id = fields.String(allow_none=True, metadata={"description": "the risk alert to acknowledge, for risk alerts"})
    created_at = UtcDateTime()
    read_at = UtcDateTime(allow_none=True)


class InboxQuery(PageQuery):
    recipient_id = Id(metadata={"description": "whose inbox; yours when left out (admins may name others)"})
    unread = fields.Boolean(load_default=None, metadata={"description": "true: only unread; false: only read"})


def _visible(notification_id: str) -> dict:
    """The notification, if the caller is its recipient or administers the tenant; else 404."""
    principal = current_principal()
    found = Notifications(database(), principal.scope).get(notification_id)
    if found is None or (found["recipient_id"] != principal.sub and principal.role not in ADMINISTRATORS):
        raise not_found("notification")
    return found


@blp.route("")
@requires()
@blp.arguments(InboxQuery, location="query")
@blp.response(200, page_of(NotificationSchema))
@problems(blp, 401, 403, 422)
def list_notifications(query):
    """A person's notifications, newest first."""
    principal = current_principal()
    recipient_id = query.get("recipient_id") or principal.sub
    require_self_or_administrator(principal, recipient_id, "read notifications")
    items, cursor = Notifications(database(), principal.scope).inbox(
        recipient_id, query["unread"], query["limit"], query["cursor"]
    )
    return {"items": items, "next_cursor": cursor}


@blp.route("/<notification_id>")
@requires()
@blp.response(200, NotificationSchema)
@problems(blp, 401, 404)
def get_notification(notification_id: str):
    """One notification (where email links lead)."""
    return _visible(notification_id)


@blp.route("/<notification_id>/read", methods=["POST"])
@requires()
@blp.response(200, NotificationSchema)
@problems(blp, 401, 403, 404)
def mark_read(notification_id: str):
    """Mark a notification read; only its recipient can. Reading it again keeps the first time."""
    found = _visible(notification_id)
    if found["recipient_id"] != current_principal().sub:
        raise Problem(403, "Only the recipient may mark a notification read")
    return Notifications(database(), current_principal().scope).mark_read(notification_id, now())
