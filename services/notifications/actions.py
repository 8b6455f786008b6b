"""What the notifications service does, for its routes (``Clinic``), its handlers and its jobs.

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
from datetime import datetime, timedelta
from typing import Collection

from marshmallow import ValidationError

from services.notifications import metrics
from services.notifications.adapters.alerts import Alerts
from services.notifications.adapters.deliveries import Deliveries, HeldEmails, WebhookAttempts
from services.notifications.adapters.memberships import ADMINS, CARE_TEAM, CLINICIANS, Memberships
from services.notifications.adapters.notifications import Notifications
from services.notifications.adapters.preferences import PreferencesRepository
from services.notifications.adapters.smtp import Email, SmtpSender
from services.notifications.adapters.subscriptions import Subscriptions
from services.notifications.adapters.webhook_client import Targets, WebhookClient
from services.notifications.domain import ids
from services.notifications.domain.attempts import CANCELLED, Attempt, consecutive_failures
from services.notifications.domain.channels import EMAIL, INBOX, WEBHOOK
from services.notifications.domain.delivery import Outcome, classify_http, classify_smtp, should_disable
from services.notifications.domain.escalation import (
    DELIVERED, Alert, HistoryEntry, InvalidTransition, acknowledge, reached_inbox_at,
)
from services.notifications.domain.preferences import (
    InvalidPreferences, Preferences, as_dict, channels_for, deliver_at, parse_preferences,
)
from services.notifications.domain.rendering import render
from services.notifications.domain.rules import Intent
from services.notifications.domain.secret_rotation import signing_secrets
from services.notifications.domain.signing import SIGNATURE_HEADER, sign
from services.notifications.domain.subscription_state import DISABLED
from services.notifications.domain.targets import TargetRefused
from services.notifications.events import outcome_events
from services.notifications.views import SubscriptionRecords
from shared import tracing
from shared.auth import Principal
from shared.errors import Problem, invalid
from shared.events.envelope import CONTENT_TYPE
from shared.idempotency import create_once
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
        if notification is None:  # erased with its recipient's client since the delivery was planned
            return Result(CANCELLED, error="the notification was erased")
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
        if should_disable(consecutive_failures(outcomes), self.disable_after) and subscriptions.disable(
            subscription_id, state, now, by="delivery-job"
        ):
            metrics.WEBHOOKS_DISABLED.inc()
            log.warning("webhook subscription disabled after failed deliveries",
                        extra={"subscription_id": subscription_id, "tenant": delivery["tenant"]})


# What the routes ask for.

# Roles that administer a tenant's notifications on behalf of others (people and machines).
ADMINISTRATORS = ("admin", "service")
SUBSCRIPTION_ROUTE = "POST /v1/subscriptions"


def not_found(what: str) -> Problem:
    return Problem(404, f"No {what} with this id")


def require_self_or_administrator(principal: Principal, user_id: str, action: str) -> None:
    """A person acts on their own records; admins and services may act on anyone's in their tenant."""
    if user_id != principal.sub and principal.role not in ADMINISTRATORS:
        raise Problem(403, f"Only admins may {action} for another person")


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _refuse(field_name: str, ids: list[str], refused: dict[str, str]) -> None:
    """A 422 naming each refused id's place in the list (``therapist_ids.2``)."""
    errors = {f"{field_name}.{n}": [refused[i]] for n, i in enumerate(ids) if i in refused}
    if errors:
        raise invalid(errors)


@dataclass
class Clinic:
    """What one caller (``principal``, in its tenant's scope) may read and change of a clinic's
    notifications, preferences, teams, risk alerts and webhooks, at one moment (``now``).

    Who may act on a record that must be read first (a notification's recipient, a
    subscription's creator) is checked here; the routes check the rest before calling.
    """

    database: Database
    principal: Principal
    now: datetime

    @property
    def scope(self) -> Scope:
        return self.principal.scope

    # The inbox

    def inbox(self, recipient_id: str, unread: bool | None, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        require_self_or_administrator(self.principal, recipient_id, "read notifications")
        return Notifications(self.database, self.scope).inbox(recipient_id, unread, limit, cursor)

    def notification(self, notification_id: str) -> dict:
        """The notification, if the caller is its recipient or administers the tenant; else 404."""
        found = Notifications(self.database, self.scope).get(notification_id)
        if found is None or (found["recipient_id"] != self.principal.sub and self.principal.role not in ADMINISTRATORS):
            raise not_found("notification")
        return found

    def mark_read(self, notification_id: str) -> dict:
        found = self.notification(notification_id)
        if found["recipient_id"] != self.principal.sub:
            raise Problem(403, "Only the recipient may mark a notification read")
        marked = Notifications(self.database, self.scope).mark_read(notification_id, self.now)
        if marked is None:  # erased with its client between the read above and this write
            raise not_found("notification")
        return marked

    # Preferences

    def put_preferences(self, user_id: str, body: dict) -> dict:
        require_self_or_administrator(self.principal, user_id, "set preferences")
        try:
            prefs = parse_preferences(body)
        except InvalidPreferences as exc:
            raise invalid(exc.errors) from None
        stored = PreferencesRepository(self.database, self.scope).put(user_id, prefs, self.now, self.principal.sub)
        HeldEmails(self.database, self.scope).release(user_id, self.now)
        return stored

    def preferences(self, user_id: str) -> dict:
        """A person's stored preferences, or the defaults until they set any."""
        require_self_or_administrator(self.principal, user_id, "read preferences")
        stored = PreferencesRepository(self.database, self.scope).find(user_id)
        return stored or {"user_id": user_id, **as_dict(Preferences()), "updated_at": None}

    # Care teams, admins and the clinician roster

    def put_care_team(self, client_id: str, therapist_ids: list[str]) -> list[str]:
        """Replace a client's care team; returns its members on the roster."""
        unique = _unique(therapist_ids)
        if client_id in unique:
            raise ValidationError({"therapist_ids": ["a client is not on their own care team"]})
        teams = Memberships(self.database, self.scope)
        roster = teams.roster()
        _refuse("therapist_ids", therapist_ids, {
            i: "not on the tenant's clinician roster (PUT /v1/tenant/clinicians): only clinicians are on a care team"
            for i in unique if i not in roster
        })
        members = teams.replace(CARE_TEAM, client_id, unique, self.now, self.principal.sub)
        return [m for m in members if m in roster]

    def care_team(self, client_id: str) -> list[str]:
        """A client's care team: its members on the clinician roster."""
        teams = Memberships(self.database, self.scope)
        roster = teams.roster()
        return [m for m in teams.members(CARE_TEAM, client_id) if m in roster]

    def put_admins(self, admin_ids: list[str]) -> list[str]:
        return Memberships(self.database, self.scope).replace(ADMINS, None, _unique(admin_ids), self.now, self.principal.sub)

    def admins(self) -> list[str]:
        return Memberships(self.database, self.scope).members(ADMINS)

    def put_clinicians(self, clinician_ids: list[str]) -> list[str]:
        """Replace the clinician roster; a client of the tenant (someone with a care team) is refused."""
        teams = Memberships(self.database, self.scope)
        unique = _unique(clinician_ids)
        roster = teams.roster()
        _refuse("clinician_ids", clinician_ids, {
            i: "is a client of this tenant (it has a care team), not a clinician"
            for i in unique if i not in roster and teams.members(CARE_TEAM, i)
        })
        return teams.replace(CLINICIANS, None, unique, self.now, self.principal.sub)

    def clinicians(self) -> list[str]:
        return Memberships(self.database, self.scope).members(CLINICIANS)

    # Risk alerts

    def alert(self, alert_id: str) -> tuple[dict, Alert]:
        found = Alerts(self.database, self.scope).get(alert_id)
        if found is None:
            raise not_found("alert")
        return found

    def alerts(
        self, client_id: str | None, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[tuple[dict, Alert]], str | None]:
        return Alerts(self.database, self.scope).page(client_id, status, limit, cursor)

    def acknowledge(self, alert_id: str, note: str | None, action_taken: str | None) -> tuple[dict, Alert]:
        """Append the alert's ``acknowledged`` entry; 409 when it is already acknowledged."""
        alerts = Alerts(self.database, self.scope)
        _, alert = self.alert(alert_id)
        try:
            acknowledged = acknowledge(alert, self.principal.sub, self.now, note, action_taken)
        except InvalidTransition as exc:
            raise Problem(409, str(exc)) from None
        if not alerts.acknowledge(alert.id, alert.client_id, acknowledged.history[-1]):
            raise Problem(409, f"alert {alert.id} is already acknowledged")
        metrics.RISK_ALERT_ACKNOWLEDGE_DELAY.observe(max((self.now - reached_inbox_at(alert)).total_seconds(), 0.0))
        return self.alert(alert_id)

    # Webhook subscriptions

    def _subscriptions(self) -> Subscriptions:
        return Subscriptions(self.database, self.scope)

    def _records(self, subscriptions: Subscriptions, subscription: dict) -> SubscriptionRecords:
        return SubscriptionRecords(
            subscription, subscriptions.state(subscription["_id"]), subscriptions.rotations(subscription["_id"])
        )

    def _subscription(self, subscriptions: Subscriptions, subscription_id: str) -> dict:
        found = subscriptions.get(subscription_id)
        if found is None:
            raise not_found("subscription")
        return found

    def _owned(self, subscriptions: Subscriptions, subscription_id: str, action: str) -> dict:
        """The subscription, when the caller created it or is an admin; else 403."""
        found = self._subscription(subscriptions, subscription_id)
        if self.principal.role != "admin" and found["created_by"] != self.principal.sub:
            raise Problem(403, f"Only the subscription's creator or an admin may {action} it")
        return found

    def create_subscription(self, body: dict, targets: Targets) -> tuple[SubscriptionRecords, bool]:
        """Subscribe ``body["url"]`` when the target rules allow it, once per Idempotency-Key;
        returns the subscription and whether it is new."""
        try:
            targets.check(body["url"])
        except TargetRefused as refused:
            raise invalid({"url": [f"not a webhook target: it {refused}"]}) from None

        def build(new_id: str) -> dict:
            return {**body, "_id": new_id, "created_at": self.now, "created_by": self.principal.sub}

        subscriptions = self._subscriptions()
        subscription, created = create_once(subscriptions.records, SUBSCRIPTION_ROUTE, body, build)
        return self._records(subscriptions, subscription), created

    def subscriptions(self, limit: int, cursor: str | None) -> tuple[list[SubscriptionRecords], str | None]:
        subscriptions = self._subscriptions()
        items, next_cursor = subscriptions.page(limit, cursor)
        return [self._records(subscriptions, item) for item in items], next_cursor

    def subscription(self, subscription_id: str) -> SubscriptionRecords:
        subscriptions = self._subscriptions()
        return self._records(subscriptions, self._subscription(subscriptions, subscription_id))

    def enable_subscription(self, subscription_id: str) -> SubscriptionRecords:
        """Re-enable a disabled subscription; an enabled one is left as it is."""
        subscriptions = self._subscriptions()
        found = self._owned(subscriptions, subscription_id, "re-enable")
        state = subscriptions.state(subscription_id)
        if state.status == DISABLED:
            subscriptions.enable(subscription_id, state, self.now, self.principal.sub)
        return self._records(subscriptions, found)

    def rotate_secret(self, subscription_id: str, secret: str, overlap: timedelta) -> SubscriptionRecords:
        """Sign with ``secret`` from now, and with the previous one for ``overlap`` more; 409 when
        another rotation was made at the same moment."""
        subscriptions = self._subscriptions()
        found = self._owned(subscriptions, subscription_id, "rotate the secret of")
        if not subscriptions.rotate(subscription_id, secret, self.now, self.now + overlap, self.principal.sub):
            raise Problem(409, "The secret was rotated by someone else at the same moment; read the subscription and retry")
        return self._records(subscriptions, found)

    def delete_subscription(self, subscription_id: str) -> None:
        """Delete the subscription, its secrets and its delivery log."""
        subscriptions = self._subscriptions()
        self._owned(subscriptions, subscription_id, "delete")
        subscriptions.delete(subscription_id)
        WebhookAttempts(self.database, self.scope).delete(subscription_id)

    def attempts(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        """A page of every delivery attempt to the subscription, newest first."""
        self._subscription(self._subscriptions(), subscription_id)
        return WebhookAttempts(self.database, self.scope).page(subscription_id, limit, cursor)
