"""Deliveries, their schedule, the claims on their attempts, and the attempts' records.

- ``deliveries``: one per (notification, channel) or (event, webhook subscription), created
  once under a derived id and never changed.
- ``delivery_schedule``: the work queue, one document per *open* delivery (same id) saying when
  to look at it next; removed when the delivery ends. It is only a schedule: the truth is in
  the attempts, which the job reads before it acts, so a stale entry costs a look, never a
  wrong send. Keeping it apart keeps the jobs' scan to the work still open.
- ``delivery_claims``: ``"<delivery id>:<n>"``, inserted before attempt ``n`` is made. The
  unique id lets one replica make each attempt; a claim whose lease ran out without a result
  belonged to a worker that died, and the attempt is counted and made again.
- ``delivery_attempts``: ``"<delivery id>:<n>"``, one record per attempt, never updated; the one
  that ends a delivery carries ``notification.delivered`` or ``notification.failed`` for the
  outbox relay. Attempts are numbered without gaps, so they are read by id.
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

    def create(self, delivery: Mapping, due_at: datetime) -> None:
        """Store the delivery, then schedule it (both idempotent: handling an event again after
        a crash between the two completes it)."""
        insert_once(self.database[config.DELIVERIES], delivery)
        insert_once(
            self.database[config.DELIVERY_SCHEDULE],
            {"_id": delivery["_id"], "tenant": delivery["tenant"], "kind": delivery["kind"], "next_at": due_at},
        )

    def due(self, kind: str, now: datetime, limit: int) -> list[dict]:
        query = {"kind": kind, "next_at": {"$lte": now}}
        scheduled = self.database[config.DELIVERY_SCHEDULE].find(query).sort("next_at", pymongo.ASCENDING).limit(limit)
        found = (self.database[config.DELIVERIES].find_one({"_id": entry["_id"]}) for entry in scheduled)
        return [delivery for delivery in found if delivery is not None]

    def attempts(self, delivery_id: str) -> list[Attempt]:
        found = []
        while (record := self.database[config.DELIVERY_ATTEMPTS].find_one({"_id": ids.attempt(delivery_id, len(found) + 1)})):
            found.append(Attempt(record["attempt"], record["outcome"], record["final"], record.get("next_attempt_at")))
        return found

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
        self.database[config.DELIVERY_SCHEDULE].update_one({"_id": delivery_id}, {"$set": {"next_at": at}})

    def close(self, delivery_id: str) -> None:
        self.database[config.DELIVERY_SCHEDULE].delete_one({"_id": delivery_id})


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
