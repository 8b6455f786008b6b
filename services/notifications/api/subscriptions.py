"""``/v1/subscriptions``: webhook subscriptions of a tenant, their re-enabling, secret rotation
and deletion, and the log of every delivery attempt. The secret is write-only: it signs
deliveries and is never answered. A URL is accepted only when the target rules allow it
(``domain.targets``: https, no credentials, every address it resolves to global)."""
from __future__ import annotations

from datetime import timedelta

from flask_smorest import Blueprint

from services.notifications.actions import ADMINISTRATORS
from services.notifications.api.common import caller_clinic, webhook_targets
from services.notifications.api.schemas import AttemptSchema, RotationBodySchema, SubscriptionBodySchema, SubscriptionSchema
from services.notifications.domain.signing import SIGNATURE_HEADER
from services.notifications.views import attempt_view, subscription_view
from shared.api import problems, replayable, replayed
from shared.auth import requires
from shared.paging import PageQuery
from shared.schemas import page_of

blp = Blueprint("subscriptions", __name__, url_prefix="/v1/subscriptions",
                description=f"Webhooks: events POSTed to a tenant's URL, signed in {SIGNATURE_HEADER}.")


@blp.route("", methods=["POST"])
@replayable(blp)
@requires(*ADMINISTRATORS)
@blp.arguments(SubscriptionBodySchema)
@blp.response(201, SubscriptionSchema)
@problems(blp, 400, 401, 403, 409, 413, 415, 422)
def create_subscription(body):
    """Subscribe a URL to the tenant's events matching ``event_types``; once per Idempotency-Key."""
    clinic = caller_clinic()
    subscription, created = clinic.create_subscription(body, webhook_targets())
    return subscription_view(subscription, clinic.now), 201, replayed(created)


@blp.route("")
@requires(*ADMINISTRATORS)
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(SubscriptionSchema))
@problems(blp, 401, 403, 422)
def list_subscriptions(query):
    """The tenant's subscriptions, oldest first."""
    clinic = caller_clinic()
    items, cursor = clinic.subscriptions(query["limit"], query["cursor"])
    return {"items": [subscription_view(item, clinic.now) for item in items], "next_cursor": cursor}


@blp.route("/<subscription_id>")
@requires(*ADMINISTRATORS)
@blp.response(200, SubscriptionSchema)
@problems(blp, 401, 403, 404)
def get_subscription(subscription_id: str):
    clinic = caller_clinic()
    return subscription_view(clinic.subscription(subscription_id), clinic.now)


@blp.route("/<subscription_id>/enable", methods=["POST"])
@requires(*ADMINISTRATORS)
@blp.response(200, SubscriptionSchema)
@problems(blp, 401, 403, 404)
def enable_subscription(subscription_id: str):
    """Re-enable a subscription disabled after failures (its creator or an admin). Events raised
    while it was disabled are not sent; enabling an enabled subscription changes nothing."""
    clinic = caller_clinic()
    return subscription_view(clinic.enable_subscription(subscription_id), clinic.now)


@blp.route("/<subscription_id>/secret", methods=["POST"])
@requires(*ADMINISTRATORS)
@blp.arguments(RotationBodySchema)
@blp.response(200, SubscriptionSchema)
@problems(blp, 400, 401, 403, 404, 409, 413, 415, 422)
def rotate_secret(body, subscription_id: str):
    """Rotate the secret (its creator or an admin): deliveries are signed with the new secret,
    and also with the previous one until ``overlap_seconds`` have passed (a ``v1`` for each in
    the signature header). 409 when another rotation was made at the same moment."""
    clinic = caller_clinic()
    rotated = clinic.rotate_secret(subscription_id, body["secret"], timedelta(seconds=body["overlap_seconds"]))
    return subscription_view(rotated, clinic.now)


@blp.route("/<subscription_id>", methods=["DELETE"])
@requires(*ADMINISTRATORS)
@blp.response(204)
@problems(blp, 401, 403, 404)
def delete_subscription(subscription_id: str):
    """Delete a subscription (its creator or an admin), its secrets and its delivery log: no
    event is sent to it again, and deliveries still waiting are cancelled."""
    caller_clinic().delete_subscription(subscription_id)


@blp.route("/<subscription_id>/deliveries")
@requires(*ADMINISTRATORS)
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(AttemptSchema))
@problems(blp, 401, 403, 404, 422)
def list_attempts(query, subscription_id: str):
    """Every delivery attempt to this subscription, newest first."""
    items, cursor = caller_clinic().attempts(subscription_id, query["limit"], query["cursor"])
    return {"items": [attempt_view(item) for item in items], "next_cursor": cursor}
