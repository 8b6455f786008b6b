"""Deliveries, the claims on their attempts, and the attempts' append-only records.

- ``deliveries``: one per (notification, channel) or (event, webhook subscription), created
  once under a derived id. Its ``open`` and ``next_at`` fields are only a schedule for the
  delivery jobs to find work by; the truth is in the attempts, and a job reads them before it
  acts, so a stale schedule costs a look, never a wrong send.
- ``delivery_claims``: ``"<delivery id>:<n>"``, inserted before attempt ``n`` is made. The
  unique id lets one replica make each attempt; a claim whose lease ran out without a result
  belonged to a worker that died, and the attempt is counted and made again.
- ``delivery_attempts``: one record per attempt, never updated; the one that ends a delivery
  carries ``notification.delivered`` or ``notification.failed`` for the outbox relay.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping, Sequence

import pymongo

from services.notifications import config
from services.notifications.domain import ids
from services.notifications.domain.attempts import CANCELLED, Attempt
from shared.events.outbox import with_events
from shared.mongo import Database, TenantRepository, insert_once
from shared.paging import page

# What an attempt record copies from its delivery, so the API can list attempts on their own.
_DESCRIPTION = ("tenant", "kind", "notification_id", "recipient_id", "subscription_id", "client_id", "event_id", "event_type")


class Deliveries:
    """Used by the worker across tenants; every record it writes keeps its delivery's tenant."""

    def __init__(self, database: Database):
        self.database = database

    def create(self, delivery: Mapping) -> bool:
        return insert_once(self.database[config.DELIVERIES], delivery)

    def due(self, kind: str, now: datetime, limit: int) -> list[dict]:
        query = {"kind": kind, "open": True, "next_at": {"$lte": now}}
        return list(self.database[config.DELIVERIES].find(query).sort("next_at", pymongo.ASCENDING).limit(limit))

    def attempts(self, delivery_id: str) -> list[Attempt]:
        found = self.database[config.DELIVERY_ATTEMPTS].find({"delivery_id": delivery_id})
        return [Attempt(d["attempt"], d["outcome"], d["final"], d.get("next_attempt_at")) for d in found]

    def claim(self, delivery: Mapping, number: int, now: datetime, lease: timedelta) -> bool:
        return insert_once(
            self.database[config.DELIVERY_CLAIMS],
            {
                "_id": ids.attempt(delivery["_id"], number),
                "tenant": delivery["tenant"],
                "delivery_id": delivery["_id"],
                "attempt": number,
                "claimed_at": now,
                "lease_until": now + lease,
            },
        )

    def claim_of(self, delivery_id: str, number: int) -> dict | None:
        return self.database[config.DELIVERY_CLAIMS].find_one({"_id": ids.attempt(delivery_id, number)})

    def record(
        self,
        delivery: Mapping,
        attempt: Attempt,
        now: datetime,
        *,
        status: int | None = None,
        error: str | None = None,
        events: Sequence[Mapping] = (),
    ) -> bool:
        """Store the result of an attempt; False when a result for that attempt number exists."""
        document = {
            "_id": ids.attempt(delivery["_id"], attempt.number),
            **{key: delivery.get(key) for key in _DESCRIPTION},
            "delivery_id": delivery["_id"],
            "attempt": attempt.number,
            "at": now,
            "outcome": attempt.outcome,
            "final": attempt.final,
            "next_attempt_at": attempt.next_attempt_at,
            "status": status,
            "error": error,
        }
        return insert_once(self.database[config.DELIVERY_ATTEMPTS], with_events(document, events, now))

    def reschedule(self, delivery_id: str, at: datetime) -> None:
        self.database[config.DELIVERIES].update_one({"_id": delivery_id}, {"$set": {"next_at": at}})

    def close(self, delivery_id: str) -> None:
        self.database[config.DELIVERIES].update_one({"_id": delivery_id}, {"$set": {"open": False}})


class WebhookAttempts(TenantRepository):
    """A tenant's webhook attempts, for ``GET /v1/subscriptions/{id}/deliveries``."""

    collection_name = config.DELIVERY_ATTEMPTS
    client_field = None

    def page(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return page(self.records, {"subscription_id": subscription_id}, limit=limit, cursor=cursor,
                    order_field="at", descending=True)

    def final_outcomes(self, subscription_id: str, since: datetime | None, limit: int) -> list[str]:
        """The outcomes of the newest ended deliveries (newest first), leaving out those that
        were cancelled rather than tried."""
        query: dict = {"subscription_id": subscription_id, "final": True, "outcome": {"$ne": CANCELLED}}
        if since is not None:
            query["at"] = {"$gte": since}
        found = self.records.find(query, projection={"outcome": 1}).sort([("at", -1), ("_id", -1)]).limit(limit)
        return [doc["outcome"] for doc in found]
