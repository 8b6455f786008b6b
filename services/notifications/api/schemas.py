"""Marshmallow schemas of the notifications API: every body, query and response, and so the
OpenAPI document.

Types, lengths and vocabularies are checked here (a wrong type or an unknown field is a 422
naming the field); what the values mean (a care team's members on the roster, an address, a
24-hour time, an IANA time zone, a webhook target) is checked by the actions and the domain,
which answer 422 naming the field too.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.notifications.domain.escalation import ACKNOWLEDGED, DELIVERED, ESCALATED, RAISED
from services.notifications.domain.rules import NO_CARE_TEAM, NO_CLINICIAN_ON_CARE_TEAM
from services.notifications.domain.secret_rotation import DEFAULT_OVERLAP, MAX_OVERLAP
from services.notifications.domain.signing import is_valid_pattern
from shared.paging import PageQuery
from shared.schemas import Id, UtcDateTime


# The inbox (``/v1/notifications``)

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


# Preferences (``/v1/preferences``)

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


# Care teams, admins and the clinician roster (``/v1/care-teams``, ``/v1/tenant``)

MAX_MEMBERS = 50
MAX_CLINICIANS = 1000


def _ids(description: str, most: int = MAX_MEMBERS) -> fields.List:
    return fields.List(
        Id(),
        required=True,
        validate=validate.Length(max=most),
        metadata={"description": description},
    )


class CareTeamBodySchema(Schema):
    therapist_ids = _ids("the whole care team, each on the clinician roster; events that name a clinician add to it")


class CareTeamSchema(Schema):
    client_id = fields.String()
    therapist_ids = fields.List(fields.String())


class AdminsBodySchema(Schema):
    admin_ids = _ids("every admin of the tenant")

    @validates_schema
    def _not_empty_of_people(self, data, **kwargs):
        if not data.get("admin_ids"):
            raise ValidationError("name at least one admin: escalated risk alerts go to them", "admin_ids")


class AdminsSchema(Schema):
    admin_ids = fields.List(fields.String())


class CliniciansBodySchema(Schema):
    clinician_ids = _ids("every clinician (therapist) of the tenant; may be empty", MAX_CLINICIANS)


class CliniciansSchema(Schema):
    clinician_ids = fields.List(fields.String())


# Risk alerts (``/v1/alerts``)

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


# Webhook subscriptions (``/v1/subscriptions``)

MIN_SECRET = 16


def _pattern(value: str) -> None:
    if not is_valid_pattern(value):
        raise ValidationError("must be dot-separated words, with * (one word) or # (any words) as whole words, e.g. goal.*")


class SubscriptionBodySchema(Schema):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    event_types = fields.List(
        fields.String(validate=_pattern), required=True, validate=validate.Length(min=1, max=50),
        metadata={"description": "routing key patterns, e.g. goal.*, risk.flagged, #"},
    )
    secret = fields.String(required=True, load_only=True, validate=validate.Length(min=MIN_SECRET, max=512),
                           metadata={"description": "signs every delivery (HMAC-SHA256); never shown again"})
    description = fields.String(load_default=None, validate=validate.Length(max=500))


class RotationBodySchema(Schema):
    secret = fields.String(required=True, load_only=True, validate=validate.Length(min=MIN_SECRET, max=512),
                           metadata={"description": "the new secret; never shown again"})
    overlap_seconds = fields.Integer(
        load_default=int(DEFAULT_OVERLAP.total_seconds()),
        validate=validate.Range(min=0, max=int(MAX_OVERLAP.total_seconds())),
        metadata={"description": "how long the previous secret stays valid beside the new one (default a day)"},
    )


class SubscriptionSchema(Schema):
    id = fields.String(attribute="_id")
    url = fields.String()
    event_types = fields.List(fields.String())
    description = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "enabled or disabled"})
    disabled_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    created_by = fields.String()
    secret_rotated_at = UtcDateTime(allow_none=True, metadata={"description": "when the secret was last rotated"})
    previous_secret_valid_until = UtcDateTime(
        allow_none=True, metadata={"description": "while a rotation's overlap runs: when the previous secret stops "
                                                  "being valid (until then deliveries carry a v1 for each)"})


class AttemptSchema(Schema):
    id = fields.String(attribute="_id")
    delivery_id = fields.String(metadata={"description": "the same for every attempt to deliver one event"})
    event_id = fields.String()
    event_type = fields.String()
    attempt = fields.Integer()
    at = UtcDateTime()
    outcome = fields.String(metadata={"description": "delivered, retry, rejected, interrupted or cancelled"})
    reason = fields.String(metadata={"description": "what the attempt came to, in our words: accepted, "
                                                    "refused_by_receiver, receiver_error, asked_to_retry, "
                                                    "redirect_not_followed, no_answer, target_not_allowed, "
                                                    "interrupted, not_attempted, unexpected_answer"})
    final = fields.Boolean(metadata={"description": "true when this attempt ended the delivery"})
    next_attempt_at = UtcDateTime(allow_none=True)
