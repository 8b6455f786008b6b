"""``/v1/notifications``: each person's inbox, and marking a notification read."""
from __future__ import annotations

from flask_smorest import Blueprint

from services.notifications.api.common import caller_clinic
from services.notifications.api.schemas import InboxQuery, NotificationSchema
from shared.api import problems
from shared.auth import current_principal, requires
from shared.schemas import page_of

blp = Blueprint("notifications", __name__, url_prefix="/v1/notifications", description="The inbox: what each person was told.")


@blp.route("")
@requires()
@blp.arguments(InboxQuery, location="query")
@blp.response(200, page_of(NotificationSchema))
@problems(blp, 401, 403, 422)
def list_notifications(query):
    """A person's notifications, newest first."""
    recipient_id = query.get("recipient_id") or current_principal().sub
    items, cursor = caller_clinic().inbox(recipient_id, query["unread"], query["limit"], query["cursor"])
    return {"items": items, "next_cursor": cursor}


@blp.route("/<notification_id>")
@requires()
@blp.response(200, NotificationSchema)
@problems(blp, 401, 404)
def get_notification(notification_id: str):
    """One notification (where email links lead)."""
    return caller_clinic().notification(notification_id)


@blp.route("/<notification_id>/read", methods=["POST"])
@requires()
@blp.response(200, NotificationSchema)
@problems(blp, 401, 403, 404)
def mark_read(notification_id: str):
    """Mark a notification read; only its recipient can. Reading it again keeps the first time."""
    return caller_clinic().mark_read(notification_id)
