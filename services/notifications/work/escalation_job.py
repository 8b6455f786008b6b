"""The periodic job that escalates risk alerts nobody acknowledged in time.

It runs the escalation timetable (``adapters.timetables``), whose entries are looks at an alert:
one at its ``escalate_at``, put when it is raised, and one when someone acknowledges it. Each
look refreshes the alert list's copy of the alert's state (``adapters.alerts``); that is all an
acknowledgement's look is for. The look at ``escalate_at`` then:

- if the alert is not acknowledged and is due, escalates it: the ``<alert>:escalated`` history
  entry is the claim, and it names the admins told;
- if an escalation is recorded, makes the admins' notifications from that entry with derived
  ids, so a worker that dies between the claim and the notifications is finished by the next
  look (the entry stays on the timetable until then), and admins are never told twice;
- drops the look.

A tenant without admins cannot be escalated to: the look is moved to the current window on
every round (so it never holds the timetable back), an error is logged each time, and the alert
goes to the admins as soon as the tenant names some. Recording an escalation to nobody would
close the alert for good with nobody told.
"""
from __future__ import annotations

import logging
from datetime import datetime

from services.notifications import metrics
from services.notifications.adapters import timetables
from services.notifications.adapters.alerts import Alerts
from services.notifications.adapters.memberships import ADMINS, Memberships
from services.notifications.domain import ids
from services.notifications.domain.alert_log import entry as first_entry
from services.notifications.domain.escalation import ACKNOWLEDGED, ESCALATED, HistoryEntry, escalation_intents
from services.notifications.work.notifier import Notifier
from shared.logs import log_context
from shared.mongo import Database, Scope

log = logging.getLogger(__name__)


class EscalationJob:
    def __init__(self, database: Database, clock, batch: int = 100):
        self.database = database
        self.clock = clock
        self.batch = batch
        self.timetable = timetables.escalations(database)
        self.notifier = Notifier(database)

    def run(self) -> int:
        now = self.clock.now()
        return self.timetable.run(now, lambda entry: self.look(entry, now), limit=self.batch)

    def look(self, entry: dict, now: datetime) -> None:
        scope = Scope(entry["tenant"])
        alerts = Alerts(self.database, scope)
        found = alerts.refresh(entry["alert_id"])
        if found is None:  # erased with its client (an alert is stored before its look is put)
            self.timetable.done(entry["_id"])
            return
        document, alert = found
        if entry.get("refresh_only"):
            self.timetable.done(entry["_id"])
            return
        with log_context(**document.get("log_ids", {})):
            self._escalate_if_due(entry, alerts, scope, document, alert, now)

    def _escalate_if_due(self, entry: dict, alerts: Alerts, scope: Scope, document: dict, alert, now: datetime) -> None:
        escalated = first_entry(alert, ESCALATED)
        if escalated is None and alert.status != ACKNOWLEDGED and now >= document["escalate_at"]:
            admins = Memberships(self.database, scope).members(ADMINS)
            if not admins:
                log.error("risk alert overdue and the tenant has no admins to escalate to",
                          extra={"alert_id": alert.id, "tenant": alert.tenant_id})
                self.timetable.move(entry, ids.look(alert.id, now), now, now)
                return
            if alerts.record(alert.id, alert.client_id, HistoryEntry(ESCALATED, now, recipients=tuple(admins))):
                metrics.ALERTS_ESCALATED.inc()
                log.warning("risk alert escalated to the tenant's admins", extra={"alert_id": alert.id})
            found = alerts.get(alert.id)
            if found is None:  # erased with its client meanwhile
                self.timetable.done(entry["_id"])
                return
            document, alert = found
            escalated = first_entry(alert, ESCALATED)
        if escalated is not None:
            intents = escalation_intents(alert, list(escalated.recipients), escalated.at)
            self.notifier.notify(intents, now, alert_id=alert.id)
        self.timetable.done(entry["_id"])
