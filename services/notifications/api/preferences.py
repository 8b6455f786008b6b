"""``/v1/preferences/{user_id}``: channels, email address and quiet hours of one person.

The shape is checked by the schemas (types, unknown fields); what the values mean (an address, a
24-hour time, an IANA time zone) is checked by ``domain.preferences``, and both answer 422
naming the field, e.g. ``quiet_hours.timezone``.
"""
from __future__ import annotations

from flask_smorest import Blueprint

from services.notifications.api.common import caller_clinic
from services.notifications.api.schemas import PreferencesBodySchema, PreferencesSchema
from shared.api import problems
from shared.auth import requires

blp = Blueprint("preferences", __name__, url_prefix="/v1/preferences", description="How and when each person is told.")


@blp.route("/<user_id>", methods=["PUT"])
@requires()
@blp.arguments(PreferencesBodySchema)
@blp.response(200, PreferencesSchema)
@problems(blp, 400, 401, 403, 413, 415, 422)
def put_preferences(body, user_id: str):
    """Replace a person's preferences (your own; admins may set anyone's). Emails held for the
    old quiet hours are looked at again at once, under the new ones."""
    return caller_clinic().put_preferences(user_id, body)


@blp.route("/<user_id>")
@requires()
@blp.response(200, PreferencesSchema)
@problems(blp, 401, 403)
def get_preferences(user_id: str):
    """A person's preferences; until they set any, the defaults: inbox on, no address (so email
    reads as off), no quiet hours. What this answers can be sent back with ``PUT`` as it is."""
    return caller_clinic().preferences(user_id)
