"""Risk alerts: the alert record, written once, and its history entries beside it.

The history (``alert_events``) is what changes: a delivery, the acknowledgement, the
escalation, each inserted under an id that makes it happen at most once
(``<alert>:acknowledged``, ``<alert>:escalated``, ``<alert>:delivered:<person>:<channel>``).
Two therapists acknowledging together, or an acknowledgement racing the escalation job, thus
never overwrite each other; the status is replayed from the entries (``domain.alert_log``).

``alert_watch`` holds one document per alert the escalation job still has to look at (same id,
with ``escalate_at``); the job removes it once the alert needs nothing more, so its scan covers
only the alerts still open.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

import pymongo

from services.notifications import config
from services.notifications.domain.alert_log import replay
from services.notifications.domain.escalation import DELIVERED, RAISED, Alert, HistoryEntry
from shared.mongo import Database, TenantRepository
from shared.paging import encode_cursor, page


def entry_id(alert_id: str, entry: HistoryEntry) -> str:
    if entry.action == DELIVERED:
        return f"{alert_id}:{DELIVERED}:{entry.recipients[0]}:{entry.channel}"
    return f"{alert_id}:{entry.action}"


def _as_alert(document: dict, entries: Iterable[HistoryEntry]) -> Alert:
    recipients = tuple(document["recipients"])
    raised = Alert(
        id=document["_id"],
        tenant_id=document["tenant"],
        client_id=document["client_id"],
        event_id=document["event_id"],
        status=RAISED,
        raised_at=document["raised_at"],
        recipients=recipients,
        context=dict(document["context"]),
        history=(HistoryEntry(RAISED, document["raised_at"], recipients=recipients),),
    )
    return replay(raised, entries)


def _entry(document: dict) -> HistoryEntry:
    return HistoryEntry(
        action=document["action"],
        at=document["at"],
        by=document.get("by"),
        recipients=tuple(document.get("recipients") or ()),
        channel=document.get("channel"),
    )


def overdue(database: Database, now: datetime, limit: int) -> list[dict]:
    """Alerts of any tenant the escalation job should look at now."""
    watched = database[config.ALERT_WATCH].find({"escalate_at": {"$lte": now}}).sort("escalate_at", pymongo.ASCENDING)
    found = (database[config.ALERTS].find_one({"_id": entry["_id"]}) for entry in watched.limit(limit))
    return [alert for alert in found if alert is not None]


class Alerts(TenantRepository):
    collection_name = config.ALERTS

    def create(self, document: dict) -> bool:
        """Store the alert, then put it under watch for escalation (both idempotent, so
        handling the event again after a crash between the two completes it)."""
        created = self.records.insert_once(document)
        self.scoped(config.ALERT_WATCH).insert_once(
            {"_id": document["_id"], "client_id": document["client_id"], "escalate_at": document["escalate_at"]}
        )
        return created

    def find(self, alert_id: str) -> dict | None:
        return self.records.find_one({"_id": alert_id})

    def fold(self, documents: list[dict]) -> list[Alert]:
        """Each alert record with its history replayed, in one read of the history."""
        history: dict[str, list[HistoryEntry]] = {doc["_id"]: [] for doc in documents}
        if history:
            for entry in self.scoped(config.ALERT_EVENTS).find({"alert_id": {"$in": list(history)}}):
                history[entry["alert_id"]].append(_entry(entry))
        return [_as_alert(doc, history[doc["_id"]]) for doc in documents]

    def get(self, alert_id: str) -> Alert | None:
        document = self.find(alert_id)
        return None if document is None else self.fold([document])[0]

    def record(self, alert_id: str, client_id: str, entry: HistoryEntry) -> bool:
        """Append ``entry``; False when that entry (by its id) was already recorded."""
        return self.scoped(config.ALERT_EVENTS).insert_once(
            {
                "_id": entry_id(alert_id, entry),
                "alert_id": alert_id,
                "client_id": client_id,
                "action": entry.action,
                "at": entry.at,
                "by": entry.by,
                "recipients": list(entry.recipients),
                "channel": entry.channel,
            }
        )

    def settle(self, alert_id: str) -> None:
        """Stop watching the alert: it is acknowledged, or its admins have been told."""
        self.scoped(config.ALERT_WATCH).delete_one({"_id": alert_id})

    def page(
        self, client_id: str | None, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[tuple[dict, Alert]], str | None]:
        """Newest first. The status is replayed, not stored, so a status filter reads on until
        the page is full."""
        query = {"client_id": client_id} if client_id else {}
        items: list[tuple[dict, Alert]] = []
        while True:
            batch, next_cursor = page(self.records, query, limit=limit, cursor=cursor, order_field="raised_at", descending=True)
            for position, (document, alert) in enumerate(zip(batch, self.fold(batch))):
                if status is not None and alert.status != status:
                    continue
                items.append((document, alert))
                if len(items) == limit:
                    last_of_all = next_cursor is None and position == len(batch) - 1
                    return items, None if last_of_all else encode_cursor(document["raised_at"], document["_id"])
            if next_cursor is None:
                return items, None
            cursor = next_cursor
