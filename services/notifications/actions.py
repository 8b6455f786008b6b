"""What the notifications service does, for its routes, its handlers and its jobs.

Notifying (``Notifier``): intents become notification records and deliveries, each exactly once.

Every record's id derives from (event, recipient[, channel]), so handling an event again (a
redelivery, a retry after a crash halfway through) finds the records already there and adds
nothing. The inbox is the notification record itself, delivered the moment it is stored; email
is a delivery the email job makes, when the recipient's quiet hours allow.

Delivering (``EmailChannel``, ``WebhookChannel``): how an email and a webhook attempt are made,
for the delivery job (``jobs.py``).

Email reads the recipient's preferences at send time, not when the notification was made: a
changed address or new quiet hours apply to what is still waiting. It renders from the stored
notification with ``rendering.render(intent, "email")``, which never sees clinical detail.

A webhook attempt POSTs the stored CloudEvent body, signed at the moment of sending with the
subscription's valid secrets (two while a rotation's overlap runs), to an address the target
rules allow (``adapters.webhook_client``). A subscription deleted or disabled meanwhile cancels
the attempt. After a delivery fails for good, the subscription's run of consecutive
failed deliveries is counted, and at ``WEBHOOK_DISABLE_AFTER`` it is disabled.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Collection

from services.notifications import metrics
from services.notifications.adapters.alerts import Alerts
from services.notifications.adapters.deliveries import Deliveries, HeldEmails, WebhookAttempts
from services.notifications.adapters.notifications import Notifications
from services.notifications.adapters.preferences import PreferencesRepository
from services.notifications.adapters.smtp import Email, SmtpSender
from services.notifications.adapters.subscriptions import Subscriptions
from services.notifications.adapters.webhook_client import WebhookClient
from services.notifications.domain import ids
from services.notifications.domain.attempts import CANCELLED, Attempt, consecutive_failures
from services.notifications.domain.channels import EMAIL, INBOX, WEBHOOK
from services.notifications.domain.delivery import Outcome, classify_http, classify_smtp, should_disable
from services.notifications.domain.escalation import DELIVERED, HistoryEntry
from services.notifications.domain.preferences import Preferences, channels_for, deliver_at
from services.notifications.domain.rendering import render
from services.notifications.domain.rules import Intent
from services.notifications.domain.secret_rotation import signing_secrets
from services.notifications.domain.signing import SIGNATURE_HEADER, sign
from services.notifications.domain.subscription_state import DISABLED
from services.notifications.events import outcome_events
from shared import tracing
from shared.events.envelope import CONTENT_TYPE
from shared.mongo import Database, Scope

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Result:
    """What one attempt came to: an ``Outcome`` value, or ``CANCELLED`` when it was not made."""

    outcome: str
    status: int | None = None
    error: str | None = None


class EmailChannel:
    kind = EMAIL

    def __init__(self, database: Database, sender: SmtpSender, app_base_url: str):
        self.database = database
        self.sender = sender
        self.app_base_url = app_base_url.rstrip("/")

    def _preferences(self, delivery: dict):
        return PreferencesRepository(self.database, Scope(delivery["tenant"])).load(delivery["recipient_id"])

    def hold_until(self, delivery: dict, now: datetime) -> datetime | None:
        when = deliver_at(now, self._preferences(delivery), delivery["priority"])
        if when <= now:
            return None
        HeldEmails(self.database, Scope(delivery["tenant"])).hold(delivery, when)
        return when

    def attempt(self, delivery: dict, now: datetime) -> Result:
        prefs = self._preferences(delivery)
        if prefs is None or EMAIL not in channels_for(prefs, delivery["priority"]):
            return Result(CANCELLED, error="email switched off or no address")
        notification = Notifications(self.database, Scope(delivery["tenant"])).get(delivery["notification_id"])
        link = f"{self.app_base_url}/notifications/{notification['_id']}"
        rendered = render(intent_of(notification), EMAIL, link=link)
        sent = self.sender.send(Email(to=prefs.email, subject=rendered.title, text=rendered.text, html=rendered.html))
        return Result(classify_smtp(sent.code).value, sent.code, sent.error)

    def after(self, delivery: dict, attempt: Attempt, now: datetime) -> None:
        if attempt.outcome == Outcome.DELIVERED and delivery.get("alert_id"):
            entry = HistoryEntry(DELIVERED, now, recipients=(delivery["recipient_id"],), channel=EMAIL)
            Alerts(self.database, Scope(delivery["tenant"])).record(delivery["alert_id"], delivery["client_id"], entry)


class WebhookChannel:
    kind = WEBHOOK

    def __init__(self, database: Database, client: WebhookClient, disable_after: int):
        self.database = database
        self.client = client
        self.disable_after = disable_after

    def hold_until(self, delivery: dict, now: datetime) -> datetime | None:
        return None

    def attempt(self, delivery: dict, now: datetime) -> Result:
        subscriptions = Subscriptions(self.database, Scope(delivery["tenant"]))
        subscription = subscriptions.get(delivery["subscription_id"])
        if subscription is None or subscriptions.state(subscription["_id"]).status == DISABLED:
            return Result(CANCELLED, error="subscription disabled")
        body = delivery["body"].encode()
        secret, *previous = signing_secrets(subscription["secret"], subscriptions.rotations(subscription["_id"]), now)
        headers = {"Content-Type": CONTENT_TYPE, SIGNATURE_HEADER: sign(secret, body, now, also=previous)}
        posted = self.client.post(subscription["url"], body, headers)
        return Result(classify_http(posted.status, posted.error).value, posted.status, posted.error)

    def after(self, delivery: dict, attempt: Attempt, now: datetime) -> None:
        if not attempt.final or attempt.outcome in (Outcome.DELIVERED, CANCELLED):
            return
        scope = Scope(delivery["tenant"])
        subscriptions = Subscriptions(self.database, scope)
        subscription_id = delivery["subscription_id"]
        state = subscriptions.state(subscription_id)
        if state.status == DISABLED:
            return
        outcomes = WebhookAttempts(self.database, scope).final_outcomes(subscription_id, state.since, self.disable_after)
        if should_disable(consecutive_failures(outcomes), self.disable_after):
            if subscriptions.disable(subscription_id, state, now, by="delivery-job"):
                metrics.WEBHOOKS_DISABLED.inc()
                log.warning("webhook subscription disabled after failed deliveries",
                            extra={"subscription_id": subscription_id, "tenant": delivery["tenant"]})
