"""Deliveries, their timetables, the claims on their attempts, and the attempts' records.

- ``deliveries``: one per (notification, channel) or (event, webhook subscription), created
  once under a derived id and never changed.
- ``email_timetable``, ``webhook_timetable`` (``shared.timetable``): the due work, one entry per
  "look at this delivery at this time". A delivery is put on its channel's timetable when it is
  created (under its own id); the job moves the entry to the next time (a retry, the end of
  quiet hours: the new entry's id is ``ids.look(delivery, time)``) or drops it when the
  delivery has ended.
  Entries are only inserted and deleted, never updated, so two workers moving the same entry
  cannot lose each other's write: both insert the same derived id, and one insert wins. An
  entry is only a reminder to look: the truth is in the attempts, which the job reads before it
  acts, so a stale or duplicated entry costs a look, never a wrong send.
- ``held_emails``: one per email held for its recipient's quiet hours (under the delivery's id),
  so that a change of preferences finds them by recipient and looks at them again at once
  (``HeldEmails.release``); the job puts it back if the new hours still hold the email.
- ``delivery_claims``: ``"<delivery id>:<n>"``, inserted before attempt ``n`` is made. The
  unique id lets one replica make each attempt; a claim whose lease ran out without a result
  belonged to a worker that died, and the attempt is counted and made again.
- ``delivery_attempts``: ``"<delivery id>:<n>"``, one record per attempt, never updated; the one
  that ends a delivery carries ``notification.delivered`` or ``notification.failed`` for the
  outbox relay. Attempts are numbered without gaps, so a delivery's are read by id. A webhook
  attempt is also on its subscription's list (``config.WEBHOOK_ATTEMPTS``, a day at a time),
  with ``ended`` set when it ended a delivery it tried (what disabling a subscription counts).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping, Sequence

from services.notifications import config
from services.notifications.adapters import timetables
from services.notifications.domain import ids
from services.notifications.domain.attempts import CANCELLED, Attempt
from shared.events.outbox import with_events
from shared.logs import current_log_ids
from shared.mongo import Database, Scope, TenantRepository, insert_once
from shared.timetable import Timetable

# What an attempt record copies from its delivery, so the API can list attempts on their own.
_DESCRIPTION = ("tenant", "kind", "notification_id", "recipient_id", "subscription_id", "client_id", "event_id", "event_type")


class Deliveries:
    """Used by the worker across tenants; every record it writes keeps its delivery's tenant."""

    def __init__(self, database: Database):
        self.database = database

    def timetable(self, kind: str) -> Timetable:
        return timetables.deliveries(self.database, kind)

    def create(self, delivery: Mapping, due_at: datetime, now: datetime) -> None:
        """Store the delivery, then put its first look on its channel's timetable, under the
        delivery's own id (both idempotent: handling an event again, or after a crash between
        the two, adds nothing, or completes it). An email that must wait for quiet hours is
        marked held first, so a change of preferences can release it. The delivery keeps the log
        context it was made in (the event's correlation and trace ids), for the delivery job's
        lines about it."""
        insert_once(self.database[config.DELIVERIES], {**delivery, "log_ids": current_log_ids()})
        if delivery["kind"] == "email" and due_at > now:
            HeldEmails(self.database, Scope(delivery["tenant"])).hold(delivery, due_at)
        self.timetable(delivery["kind"]).put(delivery["_id"], due_at, now, delivery_id=delivery["_id"],
                                             tenant=delivery["tenant"])

    def get(self, delivery_id: str) -> dict | None:
        return self.database[config.DELIVERIES].find_one({"_id": delivery_id})

    def attempts(self, delivery_id: str) -> list[Attempt]:
        found: list[Attempt] = []
        while (record := self.database[config.DELIVERY_ATTEMPTS].find_one({"_id": ids.attempt(delivery_id, len(found) + 1)})):
            found.append(Attempt(record["attempt"], record["outcome"], record["final"], record.get("next_attempt_at")))
        return found

    def recorded_at(self, delivery_id: str, number: int) -> datetime:
        record = self.database[config.DELIVERY_ATTEMPTS].find_one({"_id": ids.attempt(delivery_id, number)})
        if record is None:
            raise LookupError(f"delivery {delivery_id} has no attempt {number}")
        at: datetime = record["at"]
        return at

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
        if document["subscription_id"] is not None:
            document["ended"] = attempt.final and attempt.outcome != CANCELLED
            document = config.WEBHOOK_ATTEMPTS.stamp(self.database, document)
        return insert_once(self.database[config.DELIVERY_ATTEMPTS], with_events(document, events, now))


class HeldEmails(TenantRepository):
    """A tenant's emails held for quiet hours, by recipient."""

    collection_name = config.HELD_EMAILS
    client_field = None

    def hold(self, delivery: Mapping, until: datetime) -> None:
        self.records.insert_once({"_id": delivery["_id"], "recipient_id": delivery["recipient_id"], "until": until})

    def release(self, recipient_id: str, now: datetime) -> int:
        """Look again now at every email held for ``recipient_id`` (their quiet hours changed);
        returns how many. Each look re-reads the preferences, so an email still inside the new
        hours is held again. The marker goes after the look is put: a crash between the two
        leaves a marker whose release costs one more look."""
        timetable = timetables.deliveries(self.database, "email")
        released = 0
        for held in self.records.find({"recipient_id": recipient_id}):
            timetable.put(ids.look(held["_id"], now), now, now, delivery_id=held["_id"], tenant=self.scope.tenant)
            self.records.delete_one({"_id": held["_id"]})
            released += 1
        return released


class WebhookAttempts(TenantRepository):
    """A tenant's webhook attempts, for ``GET /v1/subscriptions/{id}/deliveries``."""

    collection_name = config.DELIVERY_ATTEMPTS
    client_field = None

    def _list(self, subscription_id: str) -> dict:
        return {"tenant": self.scope.tenant, "subscription_id": subscription_id}

    def page(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return config.WEBHOOK_ATTEMPTS.page(self.database, self.records, self._list(subscription_id),
                                            limit=limit, cursor=cursor)

    def final_outcomes(self, subscription_id: str, since: datetime | None, limit: int) -> list[str]:
        """The outcomes of the newest ``limit`` deliveries that ended after ``since`` (newest
        first), leaving out those that were cancelled rather than tried.

        Read from the subscription's list, narrowed to the attempts that ended a delivery: the
        newest days until ``limit`` are found, each an equality lookup. Those before ``since``
        (an earlier generation, see ``domain.subscription_state``) are at the end of that short
        page and are left out there."""
        ended, _ = config.WEBHOOK_ATTEMPTS.page(self.database, self.records, self._list(subscription_id),
                                                limit=limit, cursor=None, where={"ended": True})
        return [doc["outcome"] for doc in ended if since is None or doc["at"] >= since]

    def delete(self, subscription_id: str) -> None:
        """Delete the subscription's delivery log and the deliveries it names (their stored
        bodies are the events, health data included), a day of the list at a time."""
        values = self._list(subscription_id)
        for number in config.WEBHOOK_ATTEMPTS.periods(self.database, values):
            day = {"subscription_id": subscription_id, config.WEBHOOK_ATTEMPTS.field: number}
            delivery_ids = {doc["delivery_id"] for doc in self.records.find(day, projection={"delivery_id": 1})}
            for delivery_id in delivery_ids:
                self.scoped(config.DELIVERIES, None).delete_one({"_id": delivery_id})
            self.records.delete_many(day)
