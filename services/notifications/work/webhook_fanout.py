"""The ``notifications.webhooks`` consumer: every event, to the subscriptions that asked for it.

One delivery per (event, subscription), under a derived id, for the enabled subscriptions of
the event's own tenant whose patterns match its routing key. The delivery keeps the exact body
it will POST, so every attempt sends, and signs, the same bytes, and the trace context it was
made in (this consumer's span of the event), so that its attempts continue the event's trace.

The outcome events of webhook deliveries themselves are not sent to webhooks: a subscription to
``#`` would otherwise be fed one more event by each delivery it receives, for ever.
"""
from __future__ import annotations

import json

from services.notifications.adapters.deliveries import Deliveries
from services.notifications.adapters.subscriptions import Subscriptions
from services.notifications.domain import ids
from shared import tracing
from shared.events.envelope import routing_key
from shared.mongo import Database, Scope

PATTERNS = ("#",)
WEBHOOK = "webhook"
_OUTCOME_EVENTS = ("notification.delivered", "notification.failed")


class WebhookFanout:
    def __init__(self, database: Database, clock):
        self.database = database
        self.clock = clock
        self.deliveries = Deliveries(database)

    def __call__(self, event: dict) -> None:
        key = routing_key(event)
        if key in _OUTCOME_EVENTS and event["data"]["channel"] == WEBHOOK:
            return
        tenant = event["tenantid"]
        subscriptions = Subscriptions(self.database, Scope(tenant)).matching(key)
        if not subscriptions:
            return
        now = self.clock.now()
        body = json.dumps(event, separators=(",", ":"))
        for subscription in subscriptions:
            self.deliveries.create(
                {
                    "_id": ids.webhook_delivery(tenant, event["id"], subscription["_id"]),
                    "tenant": tenant,
                    "kind": WEBHOOK,
                    "subscription_id": subscription["_id"],
                    # The registry types client_id as a string wherever an event has one.
                    "client_id": event["data"].get("client_id"),
                    "event_id": event["id"],
                    "event_type": key,
                    "body": body,
                    "created_at": now,
                    **tracing.carrier(),
                },
                now,
                now,
            )
