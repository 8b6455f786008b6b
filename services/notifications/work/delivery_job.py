"""The periodic job that makes due deliveries of one channel (email or webhook).

For each delivery whose schedule says it may be due, it reads the attempts made so far and:

1. stops if one of them ended the delivery, or waits if the next one is not due yet;
2. waits for the end of the recipient's quiet hours when the channel says so;
3. claims attempt ``n`` (``insert_once`` on ``"<delivery id>:<n>"``), so that two replicas
   never both make it; a claim it loses whose lease has run out belonged to a worker that died
   mid-attempt, and that attempt is recorded as interrupted so the next one can be made;
4. makes the attempt and appends its record: delivered, retry at a growing delay
   (``RetryPolicy``), or final (rejected, out of attempts, cancelled), the final one carrying
   ``notification.delivered`` or ``notification.failed``.

A crash anywhere leaves either no claim (nothing happened) or a claim without a result
(retried after the lease), never a delivery that is silently dropped.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pymongo.errors import PyMongoError

from services.notifications import metrics
from services.notifications.adapters.deliveries import Deliveries
from services.notifications.domain.attempts import CANCELLED, Attempt, conclude, interrupted, next_step
from services.notifications.domain.delivery import Outcome, RetryPolicy
from services.notifications.work.outcomes import outcome_events
from shared.mongo import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    """What one attempt came to: an ``Outcome`` value, or ``CANCELLED`` when it was not made."""

    outcome: str
    status: int | None = None
    error: str | None = None


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
        self.clock = clock
        self.channel = channel
        self.policy = policy
        self.lease = lease
        self.batch = batch

    def run(self) -> int:
        """One round over the due deliveries; returns how many were looked at."""
        now = self.clock.now()
        due = self.deliveries.due(self.channel.kind, now, self.batch)
        for delivery in due:
            try:
                self.advance(delivery, now)
            except PyMongoError:
                raise
            except Exception:
                # One broken delivery must not hold up the others (e.g. a risk alert email).
                log.exception("delivery failed unexpectedly; it stays due", extra={"delivery_id": delivery["_id"]})
        return len(due)

    def advance(self, delivery: dict, now: datetime) -> None:
        step = next_step(self.deliveries.attempts(delivery["_id"]), delivery["created_at"], now)
        if step.done:
            self.deliveries.close(delivery["_id"])
            return
        if not step.due:
            self.deliveries.reschedule(delivery["_id"], step.wait_until)
            return
        hold = self.channel.hold_until(delivery, now)
        if hold is not None:
            self.deliveries.reschedule(delivery["_id"], hold)
            return
        if not self.deliveries.claim(delivery, step.number, now, self.lease):
            self._recover(delivery, step.number, now)
            return
        result = self.channel.attempt(delivery, now)
        if result.outcome == CANCELLED:
            attempt = Attempt(step.number, CANCELLED, True)
        else:
            attempt = conclude(step.number, Outcome(result.outcome), now, self.policy)
        self._finish(delivery, attempt, now, result.status, result.error)

    def _recover(self, delivery: dict, number: int, now: datetime) -> None:
        claim = self.deliveries.claim_of(delivery["_id"], number)
        if claim is not None and claim["lease_until"] <= now:
            log.warning("attempt presumed lost; it will be made again",
                        extra={"delivery_id": delivery["_id"], "attempt": number})
            self._finish(delivery, interrupted(number, now, self.policy), now, None, "lease expired")

    def _finish(self, delivery: dict, attempt: Attempt, now: datetime, status: int | None, error: str | None) -> None:
        events = outcome_events(delivery, attempt, now, status, error)
        if not self.deliveries.record(delivery, attempt, now, status=status, error=error, events=events):
            return  # another worker recorded this attempt; the next round reads its result
        metrics.DELIVERY_ATTEMPTS.labels(self.channel.kind, attempt.outcome).inc()
        log.info("delivery attempt recorded", extra={
            "delivery_id": delivery["_id"], "channel": self.channel.kind, "attempt": attempt.number,
            "outcome": attempt.outcome, "final": attempt.final, "status": status,
        })
        self.channel.after(delivery, attempt, now)
        if attempt.final:
            self.deliveries.close(delivery["_id"])
        else:
            self.deliveries.reschedule(delivery["_id"], attempt.next_attempt_at)
