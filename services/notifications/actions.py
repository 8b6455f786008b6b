"""Intents become notification records and deliveries, each exactly once.

Every record's id derives from (event, recipient[, channel]), so handling an event again (a
redelivery, a retry after a crash halfway through) finds the records already there and adds
nothing. The inbox is the notification record itself, delivered the moment it is stored; email
is a delivery the email job makes, when the recipient's quiet hours allow.
"""
from __future__ import annotations

from datetime import datetime
from typing import Collection

from services.notifications.adapters.alerts import Alerts
from services.notifications.adapters.deliveries import Deliveries
from services.notifications.adapters.notifications import Notifications
from services.notifications.adapters.preferences import PreferencesRepository
from services.notifications.domain import ids
from services.notifications.domain.attempts import Attempt
from services.notifications.domain.delivery import Outcome
from services.notifications.domain.escalation import DELIVERED, HistoryEntry
from services.notifications.domain.preferences import EMAIL, INBOX, Preferences, channels_for, deliver_at
from services.notifications.domain.rendering import render
from services.notifications.domain.rules import Intent
from services.notifications.work.outcomes import outcome_events
from shared import tracing
from shared.mongo import Database, Scope


def intent_of(notification: dict) -> Intent:
    """The intent a stored notification was made from (to render it for another channel)."""
    return Intent(
        type=notification["type"],
        priority=notification["priority"],
        recipient_id=notification["recipient_id"],
        recipient_role=notification["recipient_role"],
        client_id=notification["client_id"],
        tenant_id=notification["tenant"],
        event_id=notification["event_id"],
        template=notification["template"],
        context=dict(notification["context"]),
        creates_alert=notification.get("alert_id") is not None,
    )


def notification_of(intent: Intent, channels: Collection[str], now: datetime, alert_id: str | None) -> dict:
    """The notification record of ``intent`` (rendered for the inbox) sent on ``channels`` at ``now``."""
    inbox = render(intent, INBOX)
    return {
        "_id": ids.notification(intent.tenant_id, intent.event_id, intent.recipient_id),
        "tenant": intent.tenant_id,
        "recipient_id": intent.recipient_id,
        "recipient_role": intent.recipient_role,
        "client_id": intent.client_id,
        "type": intent.type,
        "priority": intent.priority,
        "title": inbox.title,
        "body": inbox.text,
        "html": inbox.html,
        "event_id": intent.event_id,
        "alert_id": alert_id,
        "template": intent.template,
        "context": intent.context,
        "inbox": INBOX in channels,
        "created_at": now,
        "read_at": None,
    }


def delivery_of(notification: dict, channel: str) -> dict:
    """A notification's delivery on ``channel``, keeping the trace it was made in (its attempts
    are spans of that trace)."""
    return {
        "_id": ids.delivery(notification["_id"], channel),
        "tenant": notification["tenant"],
        "kind": channel,
        "notification_id": notification["_id"],
        "recipient_id": notification["recipient_id"],
        "client_id": notification["client_id"],
        "event_id": notification["event_id"],
        "alert_id": notification.get("alert_id"),
        "priority": notification["priority"],
        "created_at": notification["created_at"],
        **tracing.carrier(),
    }


class Notifier:
    def __init__(self, database: Database):
        self.database = database
        self.deliveries = Deliveries(database)

    def notify(self, intents: list[Intent], now: datetime, alert_id: str | None = None) -> list[str]:
        """Store each intent's notification and start its deliveries; returns the notification ids."""
        return [self._notify_one(intent, now, alert_id) for intent in intents]

    def _notify_one(self, intent: Intent, now: datetime, alert_id: str | None) -> str:
        scope = Scope(intent.tenant_id)
        prefs = PreferencesRepository(self.database, scope).load(intent.recipient_id)
        channels = channels_for(prefs or Preferences(), intent.priority)
        notification = notification_of(intent, channels, now, alert_id)
        Notifications(self.database, scope).create(notification)
        if INBOX in channels:
            self._delivered_to_inbox(notification, now)
        if EMAIL in channels:
            self.deliveries.create(delivery_of(notification, EMAIL), deliver_at(now, prefs, intent.priority), now)
        return notification["_id"]

    def _delivered_to_inbox(self, notification: dict, now: datetime) -> None:
        delivery = delivery_of(notification, INBOX)
        attempt = Attempt(1, Outcome.DELIVERED.value, True)
        self.deliveries.record(delivery, attempt, now, events=outcome_events(delivery, attempt, now))
        if notification["alert_id"]:
            entry = HistoryEntry(DELIVERED, now, recipients=(notification["recipient_id"],), channel=INBOX)
            Alerts(self.database, Scope(notification["tenant"])).record(
                notification["alert_id"], notification["client_id"], entry
            )
