"""The risk alert record and its escalation to the tenant's admins.

A ``risk.flagged`` event raises one alert (whatever the number of people told). Lifecycle::

    raised ──> delivered ──> acknowledged
       │           │
       └───────────┴──> escalated ──> acknowledged

An alert nobody acknowledges within the clinic's window is escalated, once, to the tenant's
admins: a risk signal must not rest with one therapist who is on leave. An escalated alert still
waits for someone to acknowledge it; it is never escalated again.

Every change appends a ``HistoryEntry``; the record keeps its whole history so that a clinic can
show who was told what, and when, about a client at risk.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.notifications.domain.channels import INBOX
from services.notifications.domain.rules import ADMIN, URGENT, Intent
from shared.clock import rfc3339

RAISED = "raised"
DELIVERED = "delivered"
ACKNOWLEDGED = "acknowledged"
ESCALATED = "escalated"
AWAITING_ACKNOWLEDGEMENT = (RAISED, DELIVERED, ESCALATED)

ESCALATED_TYPE = "risk_alert_escalated"


class InvalidTransition(ValueError):
    """The alert is not in a state that allows the change (the API answers 409)."""


@dataclass(frozen=True)
class HistoryEntry:
    """One change of an alert.

    - ``raised``: ``recipients`` are the people first told; ``reason`` says why they are the
      admins rather than clinicians of the care team (``rules.NO_CARE_TEAM``,
      ``rules.NO_CLINICIAN_ON_CARE_TEAM``), None when clinicians were told.
    - ``delivered``: ``recipients`` is the one person reached, on ``channel``.
    - ``acknowledged``: ``by`` is who acknowledged, with their optional ``note`` and
      ``action_taken`` (health data: kept here, never logged).
    - ``escalated``: ``recipients`` are the admins told.
    """

    action: str
    at: datetime
    by: str | None = None
    recipients: tuple[str, ...] = ()
    channel: str | None = None
    reason: str | None = None
    note: str | None = None
    action_taken: str | None = None


@dataclass(frozen=True)
class Alert:
    """``context`` is the risk intent's context (instrument, response, flags) for the alert view."""

    id: str
    tenant_id: str
    client_id: str
    event_id: str
    status: str
    raised_at: datetime
    recipients: tuple[str, ...]
    context: dict[str, Any] = field(default_factory=dict)
    history: tuple[HistoryEntry, ...] = ()


def _with(alert: Alert, entry: HistoryEntry, status: str) -> Alert:
    return replace(alert, status=status, history=alert.history + (entry,))


def mark_delivered(alert: Alert, recipient_id: str, channel: str, now: datetime) -> Alert:
    """Record that ``recipient_id`` was reached on ``channel``. Only the first delivery moves a
    raised alert on; later ones (another person, a late email) are history only."""
    entry = HistoryEntry(DELIVERED, now, recipients=(recipient_id,), channel=channel)
    return _with(alert, entry, DELIVERED if alert.status == RAISED else alert.status)


def acknowledge(
    alert: Alert, by: str, now: datetime, note: str | None = None, action_taken: str | None = None
) -> Alert:
    """``by`` has the alert in hand, saying what was done (``action_taken``) and anything else
    (``note``). Raises ``InvalidTransition`` when it already was."""
    if alert.status == ACKNOWLEDGED:
        raise InvalidTransition(f"alert {alert.id} is already acknowledged")
    entry = HistoryEntry(ACKNOWLEDGED, now, by=by, note=note, action_taken=action_taken)
    return _with(alert, entry, ACKNOWLEDGED)


def reached_inbox_at(alert: Alert) -> datetime:
    """When the alert first reached a clinician's inbox (when it was raised, if it never did:
    nobody to tell, so it waited from the start)."""
    return min((e.at for e in alert.history if e.action == DELIVERED and e.channel == INBOX), default=alert.raised_at)


def escalate(alert: Alert, admins: list[str], now: datetime) -> Alert:
    """Record the escalation to ``admins``. Raises ``InvalidTransition`` unless the alert is
    still waiting (raised or delivered): an alert is escalated at most once.

    The escalation job records one only when the tenant has admins to tell (``jobs.EscalationJob``):
    an escalation to nobody would end the alert's wait with nobody told.
    """
    if alert.status not in (RAISED, DELIVERED):
        raise InvalidTransition(f"alert {alert.id} is {alert.status}, not awaiting escalation")
    return _with(alert, HistoryEntry(ESCALATED, now, recipients=tuple(admins)), ESCALATED)


def escalation_intents(alert: Alert, admins: list[str], now: datetime) -> list[Intent]:
    """Urgent ``risk_alert_escalated`` notifications to each admin.

    Their ``event_id`` is ``"<alert's event id>/escalated"``, so they never collide with the
    first risk alert to the same admin when the worker deduplicates on event and recipient.
    """
    context = {
        "alert_id": alert.id,
        "raised_at": rfc3339(alert.raised_at),
        "waited_minutes": int((now - alert.raised_at).total_seconds() // 60),
    }
    return [
        Intent(
            type=ESCALATED_TYPE,
            priority=URGENT,
            recipient_id=admin,
            recipient_role=ADMIN,
            client_id=alert.client_id,
            tenant_id=alert.tenant_id,
            event_id=f"{alert.event_id}/escalated",
            template=ESCALATED_TYPE,
            context=dict(context),
        )
        for admin in dict.fromkeys(admins)
    ]
