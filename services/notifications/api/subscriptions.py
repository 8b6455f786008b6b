"""``/v1/subscriptions``: webhook subscriptions of a tenant, their re-enabling, and the log of
every delivery attempt. The secret is write-only: it signs deliveries and is never answered."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from services.notifications.adapters.deliveries import WebhookAttempts
from services.notifications.adapters.subscriptions import Subscriptions
from services.notifications.api.common import ADMINISTRATORS, database, not_found, now
from shared.api import problems, replayable, replayed
from services.notifications.domain.signing import SIGNATURE_HEADER, is_valid_pattern
from services.notifications.domain.subscription_state import DISABLED, State
from shared.auth import current_principal, requires
from shared.errors import Problem
from shared.idempotency import create_once
from shared.paging import PageQuery
from shared.schemas import UtcDateTime, page_of

blp = Blueprint("subscriptions", __name__, url_prefix="/v1/subscriptions",
                description=f"Webhooks: events POSTed to a tenant's URL, signed in {SIGNATURE_HEADER}.")

ROUTE = "POST /v1/subscriptions"
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


class SubscriptionSchema(Schema):
    id = fields.String(attribute="_id")
    url = fields.String()
    event_types = fields.List(fields.String())
    description = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "enabled or disabled"})
    disabled_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    created_by = fields.String()


class AttemptSchema(Schema):
    id = fields.String(attribute="_id")
    delivery_id = fields.String(metadata={"description": "the same for every attempt to deliver one event"})
    event_id = fields.String()
    event_type = fields.String()
    attempt = fields.Integer()
    at = UtcDateTime()
    outcome = fields.String(metadata={"description": "delivered, retry, rejected, interrupted or cancelled"})
    final = fields.Boolean(metadata={"description": "true when this attempt ended the delivery"})
    status_code = fields.Integer(attribute="status", allow_none=True, metadata={"description": "the receiver's HTTP status"})
    error = fields.String(allow_none=True, metadata={"description": "why there was no response"})
    next_attempt_at = UtcDateTime(allow_none=True)


def _view(subscription: dict, state: State) -> dict:
    return {**subscription, "status": state.status, "disabled_at": state.disabled_at}


def _found(subscriptions: Subscriptions, subscription_id: str) -> dict:
    found = subscriptions.get(subscription_id)
    if found is None:
        raise not_found("subscription")
    return found


@blp.route("", methods=["POST"])
@replayable(blp)
@requires(*ADMINISTRATORS)
@blp.arguments(SubscriptionBodySchema)
@blp.response(201, SubscriptionSchema)
@problems(blp, 400, 401, 403, 409, 413, 415, 422)
def create_subscription(body):
    """Subscribe a URL to the tenant's events matching ``event_types``; once per Idempotency-Key."""
    principal = current_principal()
    subscriptions = Subscriptions(database(), principal.scope)

    def build(new_id: str) -> dict:
        return {**body, "_id": new_id, "created_at": now(), "created_by": principal.sub}

    subscription, created = create_once(subscriptions.records, ROUTE, body, build)
    return _view(subscription, subscriptions.state(subscription["_id"])), 201, replayed(created)


@blp.route("")
@requires(*ADMINISTRATORS)
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(SubscriptionSchema))
@problems(blp, 401, 403, 422)
def list_subscriptions(query):
    """The tenant's subscriptions, oldest first."""
    subscriptions = Subscriptions(database(), current_principal().scope)
    items, cursor = subscriptions.page(query["limit"], query["cursor"])
    return {"items": [_view(item, subscriptions.state(item["_id"])) for item in items], "next_cursor": cursor}


@blp.route("/<subscription_id>")
@requires(*ADMINISTRATORS)
@blp.response(200, SubscriptionSchema)
@problems(blp, 401, 403, 404)
def get_subscription(subscription_id: str):
    subscriptions = Subscriptions(database(), current_principal().scope)
    found = _found(subscriptions, subscription_id)
    return _view(found, subscriptions.state(subscription_id))


@blp.route("/<subscription_id>/enable", methods=["POST"])
@requires(*ADMINISTRATORS)
@blp.response(200, SubscriptionSchema)
@problems(blp, 401, 403, 404)
def enable_subscription(subscription_id: str):
    """Re-enable a subscription disabled after failures (its creator or an admin). Events raised
    while it was disabled are not sent; enabling an enabled subscription changes nothing."""
    principal = current_principal()
    subscriptions = Subscriptions(database(), principal.scope)
    found = _found(subscriptions, subscription_id)
    if principal.role != "admin" and found["created_by"] != principal.sub:
        raise Problem(403, "Only the subscription's creator or an admin may re-enable it")
    state = subscriptions.state(subscription_id)
    if state.status == DISABLED:
        subscriptions.enable(subscription_id, state, now(), principal.sub)
    return _view(found, subscriptions.state(subscription_id))


@blp.route("/<subscription_id>/deliveries")
@requires(*ADMINISTRATORS)
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(AttemptSchema))
@problems(blp, 401, 403, 404, 422)
def list_attempts(query, subscription_id: str):
    """Every delivery attempt to this subscription, newest first."""
    principal = current_principal()
    _found(Subscriptions(database(), principal.scope), subscription_id)
    items, cursor = WebhookAttempts(database(), principal.scope).page(subscription_id, query["limit"], query["cursor"])
    return {"items": items, "next_cursor": cursor}
