"""``/v1/preferences/{user_id}``: channels, email address and quiet hours of one person.

The shape is checked here (types, unknown fields); what the values mean (an address, a
24-hour time, an IANA time zone) is checked by ``domain.preferences``, and both answer 422
naming the field, e.g. ``quiet_hours.timezone``.
"""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.notifications.adapters.deliveries import HeldEmails
from services.notifications.adapters.preferences import PreferencesRepository
from services.notifications.api.common import database, now, require_self_or_administrator
from shared.api import problems
from services.notifications.domain.preferences import InvalidPreferences, Preferences, as_dict, parse_preferences
from shared.auth import current_principal, requires
from shared.errors import invalid
from shared.schemas import UtcDateTime

blp = Blueprint("preferences", __name__, url_prefix="/v1/preferences", description="How and when each person is told.")


class ChannelsSchema(Schema):
    inbox = fields.Boolean()
    email = fields.Boolean()


class QuietHoursSchema(Schema):
    start = fields.String(required=True, metadata={"example": "22:00"})
    end = fields.String(required=True, metadata={"example": "07:00"})
    timezone = fields.String(required=True, metadata={"example": "Europe/London"})


class PreferencesBodySchema(Schema):
    channels = fields.Nested(ChannelsSchema, metadata={"description": "left-out channels stay on"})
    email = fields.String(allow_none=True)
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True,
                                metadata={"description": "email waits until they end; risk alerts do not"})


class PreferencesSchema(Schema):
    user_id = fields.String()
    channels = fields.Nested(ChannelsSchema)
    email = fields.String(allow_none=True)
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    updated_at = UtcDateTime(allow_none=True)


@blp.route("/<user_id>", methods=["PUT"])
@requires()
@blp.arguments(PreferencesBodySchema)
@blp.response(200, PreferencesSchema)
@problems(blp, 400, 401, 403, 413, 415, 422)
def put_preferences(body, user_id: str):
    """Replace a person's preferences (your own; admins may set anyone's). Emails held for the
    old quiet hours are looked at again at once, under the new ones."""
    principal = current_principal()
    require_self_or_administrator(principal, user_id, "set preferences")
    try:
        prefs = parse_preferences(body)
    except InvalidPreferences as exc:
        raise invalid(exc.errors) from None
    stored = PreferencesRepository(database(), principal.scope).put(user_id, prefs, now(), principal.sub)
    HeldEmails(database(), principal.scope).release(user_id, now())
    return stored


@blp.route("/<user_id>")
@requires()
@blp.response(200, PreferencesSchema)
@problems(blp, 401, 403)
def get_preferences(user_id: str):
    """A person's preferences; until they set any, the defaults: inbox on, no address (so email
    reads as off), no quiet hours. What this answers can be sent back with ``PUT`` as it is."""
    principal = current_principal()
    require_self_or_administrator(principal, user_id, "read preferences")
    stored = PreferencesRepository(database(), principal.scope).find(user_id)
    return stored or {"user_id": user_id, **as_dict(Preferences()), "updated_at": None}
