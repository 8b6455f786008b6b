"""Risk alerts: the alert record, its history entries beside it, and the alert lists.

The history (``alert_events``) is what changes: a delivery, the acknowledgement, the
escalation, each inserted under an id that makes it happen at most once
(``<alert>:acknowledged``, ``<alert>:escalated``, ``<alert>:delivered:<person>:<channel>``).
Two therapists acknowledging together, or an acknowledgement racing the escalation job, thus
never overwrite each other, and the status is replayed from the entries (``domain.alert_log``).
Reading one alert replays its entries, found by equality on ``alert_id``: that replay is what
decides a 409 and what ``GET /v1/alerts/{id}`` answers.

A list of alerts (``config.TENANT_ALERTS`` a month at a time, ``config.CLIENT_ALERTS`` a year) is
filtered by status, so the status must be stored where an equality finds it, and a page shows
each alert's history, which must not cost a query per alert. So the alert record carries a copy
of its replayed state (``status``, ``history``, and ``version``: how many entries it was
replayed from), which is only ever rewritten whole from the entries (``refresh``):

- Whoever inserts an entry refreshes afterwards: it reads the entries, writes their replay,
  reads the entries again, and repeats until nothing was added meanwhile. Take the write that
  lands last: its writer read the entries after it and found none it had not replayed; an
  entry inserted after that read is followed by its own writer's refresh, whose write would
  land later still. So once the writers are done the copy is the replay of every entry,
  however their writes interleave (FerretDB keeps only one of two concurrent updates of a
  document: each is a whole replay, and the one kept was checked against the other's entry).
  An acknowledgement racing an escalation thus lists as ``acknowledged`` (``alert_log``).
- A writer that stops between its entry and its refresh leaves the copy behind until the next
  refresh of that alert, and every writer has one that follows: a consumer's event is handled
  again until it succeeds; the delivery and escalation jobs keep their timetable entry until
  their follow-up is done; an acknowledgement first puts a look at the alert on the escalation
  timetable, and every look refreshes.

The escalation timetable (``adapters.timetables``) holds a look at each alert at its
``escalate_at``, put when the alert is raised; the escalation job drops it once the alert is
acknowledged or its admins have been told.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.notifications import config
from services.notifications.adapters import timetables
from services.notifications.domain import ids
from services.notifications.domain.alert_log import replay
from services.notifications.domain.escalation import (
    AWAITING_ACKNOWLEDGEMENT,
    DELIVERED,
    RAISED,
    Alert,
    HistoryEntry,
)
from shared.logs import current_log_ids
from shared.mongo import Database, TenantRepository


def entry_id(alert_id: str, entry: HistoryEntry) -> str:
    if entry.action == DELIVERED:
        return f"{alert_id}:{DELIVERED}:{entry.recipients[0]}:{entry.channel}"
    return f"{alert_id}:{entry.action}"


def _raised(document: dict) -> Alert:
    recipients = tuple(document["recipients"])
    raised = HistoryEntry(RAISED, document["raised_at"], recipients=recipients, reason=document.get("routing_reason"))
    return Alert(
        id=document["_id"],
        tenant_id=document["tenant"],
        client_id=document["client_id"],
        event_id=document["event_id"],
        status=RAISED,
        raised_at=document["raised_at"],
        recipients=recipients,
        context=dict(document["context"]),
        history=(raised,),
    )


def _entry(document: dict) -> HistoryEntry:
    return HistoryEntry(
        action=document["action"],
        at=document["at"],
        by=document.get("by"),
        recipients=tuple(document.get("recipients") or ()),
        channel=document.get("channel"),
        reason=document.get("reason"),
        note=document.get("note"),
        action_taken=document.get("action_taken"),
    )


def entry_fields(entry: HistoryEntry) -> dict:
    """A history entry as stored (and as the API shows it)."""
    return {"action": entry.action, "at": entry.at, "by": entry.by, "recipients": list(entry.recipients),
            "channel": entry.channel, "reason": entry.reason, "note": entry.note, "action_taken": entry.action_taken}


def _copy(alert: Alert, version: int) -> dict:
    """The fields of the alert record that copy its replayed state."""
    return {"status": alert.status, "history": [entry_fields(e) for e in alert.history], "version": version}


def _copied(document: dict) -> Alert:
    """The alert as its record's copy has it (for lists)."""
    return replace(_raised(document), status=document["status"],
                   history=tuple(_entry(e) for e in document["history"]))


class Alerts(TenantRepository):
    collection_name = config.ALERTS

    def create(self, document: dict, now: datetime) -> bool:
        """Store the alert on its lists, then put its look for escalation under the alert's id,
        at the ``escalate_at`` stored (both idempotent, so handling the event again after a crash
        between the two completes it, and handling it again later adds nothing)."""
        # The log context it was raised in (the event's correlation and trace ids), for the
        # escalation job's lines about it.
        stored = {**document, "tenant": self.scope.tenant, "log_ids": current_log_ids()}
        stored.update(_copy(_raised(stored), 0))
        stored = config.TENANT_ALERTS.stamp(self.database, config.CLIENT_ALERTS.stamp(self.database, stored))
        created = self.records.insert_once(stored)
        # Raised before: look at its own time, unless it was erased since (then at this one's).
        escalate_at = document["escalate_at"] if created else (self.find(document["_id"]) or document)["escalate_at"]
        self._look(document["_id"], document["_id"], escalate_at, now)
        return created

    def _look(self, look_id: str, alert_id: str, at: datetime, now: datetime, **fields) -> None:
        timetables.escalations(self.database).put(look_id, at, now, alert_id=alert_id, tenant=self.scope.tenant,
                                                  **fields)

    def find(self, alert_id: str) -> dict | None:
        return self.records.find_by_id(alert_id)

    def _entries(self, alert_id: str) -> list[HistoryEntry]:
        return [_entry(doc) for doc in self.scoped(config.ALERT_EVENTS).find({"alert_id": alert_id})]

    def get(self, alert_id: str) -> tuple[dict, Alert] | None:
        """The alert record and its state replayed from every entry."""
        document = self.find(alert_id)
        return None if document is None else (document, replay(_raised(document), self._entries(alert_id)))

    def record(self, alert_id: str, client_id: str, entry: HistoryEntry) -> bool:
        """Append ``entry`` and bring the record's copy up to date; False when that entry (by
        its id) was already recorded (the copy is refreshed all the same: a writer that
        recorded it may have stopped before its refresh)."""
        inserted = self.scoped(config.ALERT_EVENTS).insert_once(
            {"_id": entry_id(alert_id, entry), "alert_id": alert_id, "client_id": client_id, **entry_fields(entry)}
        )
        self.refresh(alert_id)
        return inserted

    def acknowledge(self, alert_id: str, client_id: str, entry: HistoryEntry) -> bool:
        """Record an acknowledgement entry; False when the alert was acknowledged already.

        A look at the alert is put first, so that if this stops before its refresh the
        escalation job brings the list's copy up to date."""
        self._look(ids.look(f"{alert_id}:refresh", entry.at), alert_id, entry.at, entry.at, refresh_only=True)
        return self.record(alert_id, client_id, entry)

    def refresh(self, alert_id: str) -> tuple[dict, Alert] | None:
        """Make the record's copy the replay of every entry (see the module docstring); returns
        the record and the replay."""
        document = self.find(alert_id)
        if document is None:
            return None
        entries = self._entries(alert_id)
        while True:
            alert = replay(_raised(document), entries)
            if document.get("version") == len(entries):  # entries are never removed: same count, same set
                return document, alert
            copy = _copy(alert, len(entries))
            self.records.update_one({"_id": alert_id}, {"$set": copy})
            document = {**document, **copy}
            entries = self._entries(alert_id)

    def page(
        self, client_id: str | None, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[tuple[dict, Alert]], str | None]:
        """Newest first, a client's or the whole tenant's, narrowed to a status by the copy."""
        listing, values = (
            (config.CLIENT_ALERTS, {"tenant": self.scope.tenant, "client_id": client_id})
            if client_id else (config.TENANT_ALERTS, {"tenant": self.scope.tenant})
        )
        documents, next_cursor = listing.page(self.database, self.records, values, limit=limit, cursor=cursor,
                                              where={"status": status} if status else None)
        return [(document, _copied(document)) for document in documents], next_cursor


def open_alert_times(database: Database) -> list[datetime]:
    """When each alert of every tenant that nobody has acknowledged yet was raised, by the
    records' copy of their status (one equality lookup per status). For the metrics only: it
    crosses tenants and returns times, nothing that names a tenant, client or person."""
    return [document["raised_at"] for status in AWAITING_ACKNOWLEDGEMENT
            for document in database[config.ALERTS].find({"status": status}, {"raised_at": 1, "_id": 0})]
