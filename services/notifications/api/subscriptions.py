"""``/v1/subscriptions``: webhook subscriptions of a tenant, their re-enabling, secret rotation
and deletion, and the log of every delivery attempt. The secret is write-only: it signs
deliveries and is never answered. A URL is accepted only when the target rules allow it
(``domain.targets``: https, no credentials, every address it resolves to global)."""
from __future__ import annotations

from datetime import timedelta

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from services.notifications.adapters.deliveries import WebhookAttempts
from services.notifications.adapters.subscriptions import Subscriptions
from services.notifications.api.common import ADMINISTRATORS, database, not_found, now, webhook_targets
from services.notifications.domain.attempts import attempt_reason
from services.notifications.domain.secret_rotation import DEFAULT_OVERLAP, MAX_OVERLAP, previous_valid_until
from services.notifications.domain.targets import TargetRefused
from shared.api import problems, replayable, replayed
from shared.logs import redact
from services.notifications.domain.signing import SIGNATURE_HEADER, is_valid_pattern
from services.notifications.domain.subscription_state import DISABLED
from shared.auth import Principal, current_principal, requires
from shared.errors import Problem, invalid
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


def _view(subscriptions: Subscriptions, subscription: dict) -> dict:
    state = subscriptions.state(subscription["_id"])
    rotations = subscriptions.rotations(subscription["_id"])
    return {
        **subscription,
        "url": redact(subscription["url"]),  # one registered before credentials were refused
        "status": state.status,
        "disabled_at": state.disabled_at,
        "secret_rotated_at": max((r.at for r in rotations), default=None),
        "previous_secret_valid_until": previous_valid_until(rotations, now()),
    }


def _attempt_view(attempt: dict) -> dict:
    return {**attempt, "reason": attempt_reason(attempt["outcome"], attempt.get("status"), attempt.get("error"))}


def _check_owner(principal: Principal, subscription: dict, action: str) -> None:
    if principal.role != "admin" and subscription["created_by"] != principal.sub:
        raise Problem(403, f"Only the subscription's creator or an admin may {action} it")


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
    try:
        webhook_targets().check(body["url"])
    except TargetRefused as refused:
        raise invalid({"url": [f"not a webhook target: it {refused}"]}) from None

    def build(new_id: str) -> dict:
        return {**body, "_id": new_id, "created_at": now(), "created_by": principal.sub}

    subscription, created = create_once(subscriptions.records, ROUTE, body, build)
    return _view(subscriptions, subscription), 201, replayed(created)


@blp.route("")
@requires(*ADMINISTRATORS)
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(SubscriptionSchema))
@problems(blp, 401, 403, 422)
def list_subscriptions(query):
    """The tenant's subscriptions, oldest first."""
    subscriptions = Subscriptions(database(), current_principal().scope)
    items, cursor = subscriptions.page(query["limit"], query["cursor"])
    return {"items": [_view(subscriptions, item) for item in items], "next_cursor": cursor}


@blp.route("/<subscription_id>")
@requires(*ADMINISTRATORS)
@blp.response(200, SubscriptionSchema)
@problems(blp, 401, 403, 404)
def get_subscription(subscription_id: str):
    subscriptions = Subscriptions(database(), current_principal().scope)
    return _view(subscriptions, _found(subscriptions, subscription_id))


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
    _check_owner(principal, found, "re-enable")
    state = subscriptions.state(subscription_id)
    if state.status == DISABLED:
        subscriptions.enable(subscription_id, state, now(), principal.sub)
    return _view(subscriptions, found)


@blp.route("/<subscription_id>/secret", methods=["POST"])
@requires(*ADMINISTRATORS)
@blp.arguments(RotationBodySchema)
@blp.response(200, SubscriptionSchema)
@problems(blp, 400, 401, 403, 404, 409, 413, 415, 422)
def rotate_secret(body, subscription_id: str):
    """Rotate the secret (its creator or an admin): deliveries are signed with the new secret,
    and also with the previous one until ``overlap_seconds`` have passed (a ``v1`` for each in
    the signature header). 409 when another rotation was made at the same moment."""
    principal = current_principal()
    subscriptions = Subscriptions(database(), principal.scope)
    found = _found(subscriptions, subscription_id)
    _check_owner(principal, found, "rotate the secret of")
    moment = now()
    until = moment + timedelta(seconds=body["overlap_seconds"])
    if not subscriptions.rotate(subscription_id, body["secret"], moment, until, principal.sub):
        raise Problem(409, "The secret was rotated by someone else at the same moment; read the subscription and retry")
    return _view(subscriptions, found)


@blp.route("/<subscription_id>", methods=["DELETE"])
@requires(*ADMINISTRATORS)
@blp.response(204)
@problems(blp, 401, 403, 404)
def delete_subscription(subscription_id: str):
    """Delete a subscription (its creator or an admin), its secrets and its delivery log: no
    event is sent to it again, and deliveries still waiting are cancelled."""
    principal = current_principal()
    subscriptions = Subscriptions(database(), principal.scope)
    _check_owner(principal, _found(subscriptions, subscription_id), "delete")
    subscriptions.delete(subscription_id)
    WebhookAttempts(database(), principal.scope).delete(subscription_id)


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
    return {"items": [_attempt_view(item) for item in items], "next_cursor": cursor}
