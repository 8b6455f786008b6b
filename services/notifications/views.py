"""Stored records as the API shows them (the schemas in ``api/schemas.py`` describe these shapes)."""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from services.notifications.adapters.alerts import entry_fields
from services.notifications.domain.attempts import attempt_reason
from services.notifications.domain.escalation import Alert
from services.notifications.domain.secret_rotation import Rotation, previous_valid_until
from services.notifications.domain.subscription_state import State
from shared.logs import redact


class SubscriptionRecords(NamedTuple):
    """A webhook subscription with what its view needs beside it: its state (enabled or
    disabled) and its secret rotations."""

    subscription: dict
    state: State
    rotations: list[Rotation]


def alert_view(document: dict, alert: Alert) -> dict:
    return {
        "id": alert.id,
        "client_id": alert.client_id,
        "status": alert.status,
        "event_id": alert.event_id,
        "instrument": alert.context.get("instrument"),
        "response_id": alert.context.get("response_id"),
        "flags": alert.context.get("flags") or [],
        "recipients": list(alert.recipients),
        "routing_reason": document.get("routing_reason"),
        "flagged_at": document.get("flagged_at"),
        "raised_at": alert.raised_at,
        "escalate_at": document["escalate_at"],
        "history": [entry_fields(e) for e in alert.history],
    }


def subscription_view(records: SubscriptionRecords, now: datetime) -> dict:
    subscription, state, rotations = records
    return {
        **subscription,
        "url": redact(subscription["url"]),  # one registered before credentials were refused
        "status": state.status,
        "disabled_at": state.disabled_at,
        "secret_rotated_at": max((r.at for r in rotations), default=None),
        "previous_secret_valid_until": previous_valid_until(rotations, now),
    }


def attempt_view(attempt: dict) -> dict:
    return {**attempt, "reason": attempt_reason(attempt["outcome"], attempt.get("status"), attempt.get("error"))}
