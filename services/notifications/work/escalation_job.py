"""The periodic job that escalates risk alerts nobody acknowledged in time.

An alert is escalated once: the ``<alert>:escalated`` history entry is the claim, and it names
the admins told. The notifications to them are made from that entry with derived ids, so a
worker that dies between the claim and the notifications is finished by the next round (the
alert stays under watch until its admins have been notified), and admins are never told twice.

A tenant without admins cannot be escalated to: the alert is left waiting, an error is logged
on every round, and it goes to the admins as soon as the tenant names some. Recording an
escalation to nobody would close the alert for good with nobody told.
"""
from __future__ import annotations

import logging

from services.notifications import metrics
from services.notifications.adapters.alerts import Alerts, overdue
from services.notifications.adapters.memberships import ADMINS, Memberships
from services.notifications.domain.alert_log import entry
from services.notifications.domain.escalation import ACKNOWLEDGED, ESCALATED, HistoryEntry, escalation_intents
from services.notifications.work.notifier import Notifier
from shared.mongo import Database, Scope

log = logging.getLogger(__name__)


class EscalationJob:
    def __init__(self, database: Database, clock, batch: int = 100):
        self.database = database
        self.clock = clock
        self.batch = batch
        self.notifier = Notifier(database)

    def run(self) -> int:
        now = self.clock.now()
        documents = overdue(self.database, now, self.batch)
        for document in documents:
            self._escalate(document, now)
        return len(documents)

    def _escalate(self, document: dict, now) -> None:
        scope = Scope(document["tenant"])
        alerts = Alerts(self.database, scope)
        [alert] = alerts.fold([document])
        if alert.status == ACKNOWLEDGED:
            alerts.settle(alert.id)
            return
        escalated = entry(alert, ESCALATED)
        if escalated is None:
            admins = Memberships(self.database, scope).members(ADMINS)
            if not admins:
                log.error("risk alert overdue and the tenant has no admins to escalate to",
                          extra={"alert_id": alert.id, "tenant": alert.tenant_id})
                return
            if alerts.record(alert.id, alert.client_id, HistoryEntry(ESCALATED, now, recipients=tuple(admins))):
                metrics.ALERTS_ESCALATED.inc()
                log.warning("risk alert escalated to the tenant's admins", extra={"alert_id": alert.id})
            [alert] = alerts.fold([document])
            escalated = entry(alert, ESCALATED)
        intents = escalation_intents(alert, list(escalated.recipients), escalated.at)
        self.notifier.notify(intents, now, alert_id=alert.id)
        alerts.settle(alert.id)
