"""The notifications worker's periodic jobs: making due deliveries, escalating risk alerts.

Deliveries (``DeliveryJob``, one per channel: email, webhook).

It runs its channel's timetable (``adapters.timetables``): each due entry says "look at this
delivery now". For each, it reads the attempts made so far and:

1. drops the entry if one of them ended the delivery, or moves it to the time the next attempt
   is due;
2. moves it to the end of the recipient's quiet hours when the channel says so;
3. claims attempt ``n`` (``insert_once`` on ``"<delivery id>:<n>"``), so that two replicas
   never both make it; a claim it loses whose lease has run out belonged to a worker that died
   mid-attempt, and that attempt is recorded as interrupted so the next one can be made; one
   still leased is another worker's attempt in progress, and the entry is left to it;
4. makes the attempt and appends its record: delivered, retry at a growing delay
   (``RetryPolicy``: the entry moves to that time), or final (rejected, out of attempts,
   cancelled: the entry is dropped), the final one carrying ``notification.delivered`` or
   ``notification.failed``.

Nothing is updated in place: the entry is moved (a new entry under a derived id, then the old
one deleted) or deleted. A crash anywhere leaves either no claim (nothing happened), a claim
without a result (recovered after the lease), or an entry still due (looked at again), never a
delivery that is silently dropped.

Escalations (``EscalationJob``): risk alerts nobody acknowledged in time.

It runs the escalation timetable (``adapters.timetables``), whose entries are looks at an alert:
one at its ``escalate_at``, put when it is raised, and one when someone acknowledges it. Each
look refreshes the alert list's copy of the alert's state (``adapters.alerts``); that is all an
acknowledgement's look is for. The look at ``escalate_at`` then:

- if the alert is not acknowledged and is due, escalates it: the ``<alert>:escalated`` history
  entry is the claim, and it names the admins told;
- if an escalation is recorded, makes the admins' notifications from that entry with derived
  ids, so a worker that dies between the claim and the notifications is finished by the next
  look (the entry stays on the timetable until then), and admins are never told twice;
- drops the look.

A tenant without admins cannot be escalated to: the look is moved to the current window on
every round (so it never holds the timetable back), an error is logged each time, and the alert
goes to the admins as soon as the tenant names some. Recording an escalation to nobody would
close the alert for good with nobody told.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from services.notifications import metrics
from services.notifications.actions import Notifier, Result
from services.notifications.adapters import timetables
from services.notifications.adapters.alerts import Alerts
from services.notifications.adapters.deliveries import Deliveries
from services.notifications.adapters.memberships import ADMINS, Memberships
from services.notifications.domain import ids
from services.notifications.domain.alert_log import entry as first_entry
from services.notifications.domain.attempts import CANCELLED, Attempt, conclude, interrupted, next_step
from services.notifications.domain.delivery import Outcome, RetryPolicy
from services.notifications.domain.escalation import ACKNOWLEDGED, ESCALATED, HistoryEntry, escalation_intents
from services.notifications.events import outcome_events
from shared import tracing
from shared.logs import log_context
from shared.mongo import Database, Scope

log = logging.getLogger(__name__)


class Channel(Protocol):
    kind: str

    def hold_until(self, delivery: dict, now: datetime) -> datetime | None:
        """A later time to deliver at (quiet hours), or None to go now."""

    def attempt(self, delivery: dict, now: datetime) -> Result: ...

    def after(self, delivery: dict, attempt: Attempt, now: datetime) -> None:
        """Follow-up once an attempt is recorded (alert history, disabling a subscription)."""


class DeliveryJob:
    def __init__(
        self, database: Database, clock, channel: Channel, policy: RetryPolicy, lease: timedelta, batch: int = 100
    ):
        self.deliveries = Deliveries(database)
        self.timetable = self.deliveries.timetable(channel.kind)
        self.clock = clock
        self.channel = channel
        self.policy = policy
        self.lease = lease
        self.batch = batch

    def run(self) -> int:
        """One round over the due entries; returns how many were looked at. An entry whose
        delivery fails unexpectedly is looked at again later (``Timetable.run``), so one broken
        delivery cannot hold up the others (e.g. a risk alert email)."""
        now = self.clock.now()
        return self.timetable.run(now, lambda entry: self.advance(entry, now), limit=self.batch)

    def _look_again(self, entry: dict, at: datetime, now: datetime) -> None:
        self.timetable.move(entry, ids.look(entry["delivery_id"], at), at, now)

    def advance(self, entry: dict, now: datetime) -> None:
        delivery = self.deliveries.get(entry["delivery_id"])
        if delivery is None:  # erased with its client (a delivery is stored before its timetable entry)
            self.timetable.done(entry["_id"])
            return
        with log_context(**delivery.get("log_ids", {})):
            self._advance(entry, delivery, now)

    def _advance(self, entry: dict, delivery: dict, now: datetime) -> None:
        attempts = self.deliveries.attempts(delivery["_id"])
        step = next_step(attempts, delivery["created_at"], now)
        if step.done:
            # Normally the worker that recorded the last attempt dropped the entry; if it died
            # first, its follow-up is finished here (follow-ups are idempotent).
            last = attempts[-1]
            self.channel.after(delivery, last, self.deliveries.recorded_at(delivery["_id"], last.number))
            self.timetable.done(entry["_id"])
            return
        if not step.due:
            if step.wait_until is not None:  # a step neither done nor due says when it is
                self._look_again(entry, step.wait_until, now)
            return
        hold = self.channel.hold_until(delivery, now)
        if hold is not None:
            self._look_again(entry, hold, now)
            return
        if not self.deliveries.claim(delivery, step.number, now, self.lease):
            self._recover(entry, delivery, step.number, now)
            return
        # A span in the trace the delivery was made in: its outcome event and log lines carry it.
        with tracing.span(f"deliver {self.channel.kind}", parent=delivery,
                          attributes={"stepwise.delivery.id": delivery["_id"], "stepwise.delivery.attempt": step.number}):
            result = self.channel.attempt(delivery, now)
            if result.outcome == CANCELLED:
                attempt = Attempt(step.number, CANCELLED, True)
            else:
                attempt = conclude(step.number, Outcome(result.outcome), now, self.policy)
            tracing.annotate({"stepwise.delivery.outcome": attempt.outcome})
            self._finish(entry, delivery, attempt, now, result.status, result.error)

    def _recover(self, entry: dict, delivery: dict, number: int, now: datetime) -> None:
        """Attempt ``number`` is claimed by someone else. While its lease runs, it is that
        worker's attempt in progress, and that worker moves or drops the entry; the entry stays
        due meanwhile. Once the lease has run out the worker is presumed dead."""
        claim = self.deliveries.claim_of(delivery["_id"], number)
        if claim is None or claim["lease_until"] > now:
            return
        log.warning("attempt presumed lost; it will be made again",
                    extra={"delivery_id": delivery["_id"], "attempt": number})
        self._finish(entry, delivery, interrupted(number, now, self.policy), now, None, "lease expired")

    def _finish(
        self, entry: dict, delivery: dict, attempt: Attempt, now: datetime, status: int | None, error: str | None
    ) -> None:
        events = outcome_events(delivery, attempt, now, status, error)
        if not self.deliveries.record(delivery, attempt, now, status=status, error=error, events=events):
            return  # another worker recorded this attempt; the entry stays due and the next look reads it
        metrics.DELIVERY_ATTEMPTS.labels(self.channel.kind, attempt.outcome).inc()
        log.info("delivery attempt recorded", extra={
            "delivery_id": delivery["_id"], "channel": self.channel.kind, "attempt": attempt.number,
            "outcome": attempt.outcome, "final": attempt.final, "status": status,
        })
        self.channel.after(delivery, attempt, now)
        if attempt.final:
            self.timetable.done(entry["_id"])
        elif attempt.next_attempt_at is not None:  # an attempt that is not final says when to try again
            self._look_again(entry, attempt.next_attempt_at, now)


class EscalationJob:
    def __init__(self, database: Database, clock, batch: int = 100):
        self.database = database
        self.clock = clock
        self.batch = batch
        self.timetable = timetables.escalations(database)
        self.notifier = Notifier(database)

    def run(self) -> int:
        now = self.clock.now()
        return self.timetable.run(now, lambda entry: self.look(entry, now), limit=self.batch)

    def look(self, entry: dict, now: datetime) -> None:
        scope = Scope(entry["tenant"])
        alerts = Alerts(self.database, scope)
        found = alerts.refresh(entry["alert_id"])
        if found is None:  # erased with its client (an alert is stored before its look is put)
            self.timetable.done(entry["_id"])
            return
        document, alert = found
        if entry.get("refresh_only"):
            self.timetable.done(entry["_id"])
            return
        with log_context(**document.get("log_ids", {})):
            self._escalate_if_due(entry, alerts, scope, document, alert, now)

    def _escalate_if_due(self, entry: dict, alerts: Alerts, scope: Scope, document: dict, alert, now: datetime) -> None:
        escalated = first_entry(alert, ESCALATED)
        if escalated is None and alert.status != ACKNOWLEDGED and now >= document["escalate_at"]:
            admins = Memberships(self.database, scope).members(ADMINS)
            if not admins:
                log.error("risk alert overdue and the tenant has no admins to escalate to",
                          extra={"alert_id": alert.id, "tenant": alert.tenant_id})
                self.timetable.move(entry, ids.look(alert.id, now), now, now)
                return
            if alerts.record(alert.id, alert.client_id, HistoryEntry(ESCALATED, now, recipients=tuple(admins))):
                metrics.ALERTS_ESCALATED.inc()
                log.warning("risk alert escalated to the tenant's admins", extra={"alert_id": alert.id})
            found = alerts.get(alert.id)
            if found is None:  # erased with its client meanwhile
                self.timetable.done(entry["_id"])
                return
            document, alert = found
            escalated = first_entry(alert, ESCALATED)
        if escalated is not None:
            intents = escalation_intents(alert, list(escalated.recipients), escalated.at)
            self.notifier.notify(intents, now, alert_id=alert.id)
        self.timetable.done(entry["_id"])
