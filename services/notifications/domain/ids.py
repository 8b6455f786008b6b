"""Deterministic record ids: the same event handled twice names the same records.

At-least-once delivery hands the worker the same event again (redelivery, a retry after a
crash, two replicas). Deriving each record's ``_id`` from what identifies it (tenant, event,
recipient, channel, subscription) turns "create it unless it exists" into one insert that the
database's unique ``_id`` decides: five copies of a risk flag make one alert and one email.
"""

import uuid
from datetime import datetime, timedelta, timezone

_NAMESPACE = uuid.UUID("0b6f2c44-58f1-4c8e-9a3e-5d2f7c1b9e60")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _derive(kind: str, *parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join((kind, *parts))))


def notification(tenant: str, event_id: str, recipient_id: str) -> str:
    return _derive("notification", tenant, event_id, recipient_id)


def delivery(notification_id: str, channel: str) -> str:
    return _derive("delivery", notification_id, channel)


def webhook_delivery(tenant: str, event_id: str, subscription_id: str) -> str:
    return _derive("webhook", tenant, event_id, subscription_id)


def alert(tenant: str, event_id: str) -> str:
    return _derive("alert", tenant, event_id)


def attempt(delivery_id: str, number: int) -> str:
    """Also the id of the claim on that attempt: one claim, one result per attempt number."""
    return f"{delivery_id}:{number}"


def attempt_event(attempt_id: str) -> str:
    """The id of the event an attempt raises, so re-raising it yields one event."""
    return _derive("attempt-event", attempt_id)


def membership(tenant: str, group: str, client_id: str | None, member_id: str) -> str:
    return _derive("membership", tenant, group, client_id or "", member_id)


def look(subject_id: str, at: datetime) -> str:
    """The id of the timetable entry "look at this delivery (or alert) at ``at``": putting the
    same look twice makes one entry, and moving work to another time makes another entry.
    Milliseconds, the precision the database keeps, so a time read back names the same entry."""
    milliseconds = (at.astimezone(timezone.utc) - _EPOCH) // timedelta(milliseconds=1)
    return f"{subject_id}@{milliseconds}"


def preferences(tenant: str, user_id: str) -> str:
    return _derive("preferences", tenant, user_id)
