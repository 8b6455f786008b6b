"""The events that end a delivery: ``notification.delivered`` and ``notification.failed``.

For a webhook, the "notification" is the delivery itself and the recipient is the subscription.
Event ids derive from the attempt, so an attempt record written twice raises one event.
"""
from __future__ import annotations

from datetime import datetime
from typing import Mapping

from services.notifications.domain import ids
from services.notifications.domain.attempts import Attempt
from services.notifications.domain.delivery import Outcome
from shared.events.envelope import new_event


def failure_reason(attempt: Attempt, status: int | None, error: str | None) -> str:
    detail = str(status) if status is not None else error
    return f"{attempt.outcome}: {detail}" if detail else attempt.outcome


def outcome_events(
    delivery: Mapping, attempt: Attempt, now: datetime, status: int | None = None, error: str | None = None
) -> list[dict]:
    if not attempt.final:
        return []
    delivered = attempt.outcome == Outcome.DELIVERED
    notification_id = delivery.get("notification_id") or delivery["_id"]
    data = {
        "notification_id": notification_id,
        "channel": delivery["kind"],
        "recipient_id": delivery.get("recipient_id") or delivery.get("subscription_id"),
        "client_id": delivery.get("client_id"),
        "event_id": delivery.get("event_id"),
        "reason": None if delivered else failure_reason(attempt, status, error),
    }
    return [
        new_event(
            "notification.delivered" if delivered else "notification.failed",
            tenant=delivery["tenant"],
            subject=notification_id,
            data=data,
            time=now,
            event_id=ids.attempt_event(ids.attempt(delivery["_id"], attempt.number)),
        )
    ]
