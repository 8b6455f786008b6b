"""How an email and a webhook attempt are made, for the delivery job.

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
from datetime import datetime

from services.notifications import metrics
from services.notifications.adapters.alerts import Alerts
from services.notifications.adapters.deliveries import HeldEmails, WebhookAttempts
from services.notifications.adapters.notifications import Notifications
from services.notifications.adapters.preferences import PreferencesRepository
from services.notifications.adapters.smtp import Email, SmtpSender
from services.notifications.adapters.subscriptions import Subscriptions
from services.notifications.adapters.webhook_client import WebhookClient
from services.notifications.domain.attempts import CANCELLED, Attempt, consecutive_failures
from services.notifications.domain.delivery import Outcome, classify_http, classify_smtp, should_disable
from services.notifications.domain.escalation import DELIVERED, HistoryEntry
from services.notifications.domain.preferences import EMAIL, channels_for, deliver_at
from services.notifications.domain.rendering import render
from services.notifications.domain.secret_rotation import signing_secrets
from services.notifications.domain.signing import SIGNATURE_HEADER, sign
from services.notifications.domain.subscription_state import DISABLED
from services.notifications.work.delivery_job import Result
from services.notifications.work.notifier import intent_of
from services.notifications.work.webhook_fanout import WEBHOOK
from shared.events.envelope import CONTENT_TYPE
from shared.mongo import Database, Scope

log = logging.getLogger(__name__)


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
