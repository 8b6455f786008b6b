"""The notifications worker's event handlers; ``worker.py`` says which queue and events each takes.

``RulesConsumer`` (``notifications.risk`` and ``notifications.rules``): events that tell people something.

For each event it adds the clinician the event names to the client's care team (only someone on
the tenant's clinician roster: any other id is logged and left out), asks the
routing rules (``domain.rules.intents_for``) who is to be told what, raises the risk alert for a
``risk.flagged``, and hands the intents to the notifier. Every write is idempotent, so the
consumer runner may deliver the same event any number of times.

The events of urgent rules (``URGENT_PATTERNS``: risk alerts) have a queue and a consumer of their
own, so an urgent alert never waits behind a backlog of reminders and progress notes
(``ROUTINE_PATTERNS``), however many replicas run.

``WebhookFanout`` (``notifications.webhooks``): every event, to the subscriptions that asked for it.

One delivery per (event, subscription), under a derived id, for the enabled subscriptions of
the event's own tenant whose patterns match its routing key. The delivery keeps the exact body
it will POST, so every attempt sends, and signs, the same bytes, and the trace context it was
made in (this consumer's span of the event), so that its attempts continue the event's trace.

The outcome events of webhook deliveries themselves are not sent to webhooks: a subscription to
``#`` would otherwise be fed one more event by each delivery it receives, for ever.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from services.notifications import metrics
from services.notifications.actions import Notifier
from services.notifications.adapters.alerts import Alerts
from services.notifications.adapters.deliveries import Deliveries
from services.notifications.adapters.memberships import ADMINS, CARE_TEAM, Memberships
from services.notifications.adapters.subscriptions import Subscriptions
from services.notifications.domain import ids
from services.notifications.domain.channels import WEBHOOK
from services.notifications.domain.rules import (
    RULES, URGENT, Intent, care_team_additions, context_for, intents_for, route, routing_for,
)
from shared import tracing
from shared.clock import parse_rfc3339
from shared.events.consumer import event_age
from shared.events.envelope import routing_key
from shared.mongo import Database, Scope

log = logging.getLogger(__name__)

URGENT_PATTERNS = tuple(key for key, rule in RULES.items() if rule.priority == URGENT)
# Every other event a rule or a care team needs (every goal event names the goal's therapist).
ROUTINE_PATTERNS = (
    "goal.#", "questionnaire.assigned", "questionnaire.due", "questionnaire.scored", "questionnaire.not_on_track",
)
WEBHOOK_PATTERNS = ("#",)
_OUTCOME_EVENTS = ("notification.delivered", "notification.failed")


class RulesConsumer:
    def __init__(self, database: Database, clock, escalate_after: timedelta):
        self.database = database
        self.clock = clock
        self.escalate_after = escalate_after
        self.notifier = Notifier(database)

    def __call__(self, event: dict) -> None:
        now = self.clock.now()
        scope = Scope(event["tenantid"])
        # Every event these consumers take names its client (the registry requires it).
        client_id = event["data"]["client_id"]
        teams = Memberships(self.database, scope)
        roster = teams.roster()
        named = route(care_team_additions(event), roster)
        for therapist_id in named.clinicians:
            teams.add(CARE_TEAM, client_id, therapist_id, now, by=f"event:{event['id']}")
        if named.not_clinicians:
            log.warning("event names as the client's clinician an id not on the clinician roster; not added",
                        extra={"event_id": event["id"], "tenant": scope.tenant, "ignored": len(named.not_clinicians)})
        care_team = teams.members(CARE_TEAM, client_id)
        intents = intents_for(event, care_team, teams.members(ADMINS), roster)
        reason = routing_for(event, care_team, roster).reason
        alert_id = self._raise_alert(event, intents, reason, now) if self._raises_alert(event) else None
        self.notifier.notify(intents, now, alert_id)
        if alert_id is not None and intents:
            age = event_age(event)
            if age is not None:
                metrics.RISK_ALERT_LATENCY.observe(max(age, 0.0))

    @staticmethod
    def _raises_alert(event: dict) -> bool:
        rule = RULES.get(routing_key(event))
        return rule is not None and rule.creates_alert and rule.applies(event["data"])

    def _raise_alert(self, event: dict, intents: list[Intent], reason: str | None, now: datetime) -> str:
        """Store the alert, even when nobody can be told: then it is due for escalation at once,
        and goes to the tenant's admins as soon as there are any. ``reason`` says why no
        clinician of the care team was told (then the admins were, at once)."""
        tenant, data = event["tenantid"], event["data"]
        recipients = [intent.recipient_id for intent in intents if intent.creates_alert]
        alert_id = ids.alert(tenant, event["id"])
        created = Alerts(self.database, Scope(tenant)).create(
            {
                "_id": alert_id,
                "client_id": data["client_id"],
                "event_id": event["id"],
                "raised_at": now,
                "flagged_at": parse_rfc3339(event["time"]),
                "recipients": recipients,
                "routing_reason": reason,
                "context": context_for(routing_key(event), data),
                "escalate_at": now + self.escalate_after if recipients else now,
            },
            now,
        )
        if created:
            metrics.ALERTS_RAISED.inc()
            if not recipients:
                metrics.ALERTS_UNROUTED.inc()
                log.error("risk alert raised with nobody to tell: no care team and no admins",
                          extra={"alert_id": alert_id, "tenant": tenant})
        return alert_id


class WebhookFanout:
    def __init__(self, database: Database, clock):
        self.database = database
        self.clock = clock
        self.deliveries = Deliveries(database)

    def __call__(self, event: dict) -> None:
        key = routing_key(event)
        if key in _OUTCOME_EVENTS and event["data"]["channel"] == WEBHOOK:
            return
        tenant = event["tenantid"]
        subscriptions = Subscriptions(self.database, Scope(tenant)).matching(key)
        if not subscriptions:
            return
        now = self.clock.now()
        body = json.dumps(event, separators=(",", ":"))
        for subscription in subscriptions:
            self.deliveries.create(
                {
                    "_id": ids.webhook_delivery(tenant, event["id"], subscription["_id"]),
                    "tenant": tenant,
                    "kind": WEBHOOK,
                    "subscription_id": subscription["_id"],
                    # The registry types client_id as a string wherever an event has one.
                    "client_id": event["data"].get("client_id"),
                    "event_id": event["id"],
                    "event_type": key,
                    "body": body,
                    "created_at": now,
                    **tracing.carrier(),
                },
                now,
                now,
            )
