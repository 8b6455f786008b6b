"""MongoDB storage of assignments and of what happened to them, all by insert.

An assignment is inserted once (carrying ``questionnaire.assigned``) and never changed. What
happens afterwards is a claim beside it, keyed so that it can happen only once:

- a cancellation, ``_id`` = the assignment's id;
- a fulfilment, ``_id`` = the occurrence key (``<assignment id>:<index>``): the response that
  answered that occurrence (a second response for the same occurrence is kept, but does not
  fulfil it again);
- a reminder, ``_id`` = ``<occurrence key>:<kind>``, carrying ``questionnaire.due`` (written by
  the worker, see ``services.questionnaires.reminders``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

from services.questionnaires.config import ASSIGNMENTS, CANCELLATIONS, FULFILMENTS, REMINDERS
from shared.idempotency import create_once
from shared.mongo import Database, ScopedCollection, TenantRepository, insert_once
from shared.paging import page


def occurrence_key(assignment_id: str, index: int) -> str:
    return f"{assignment_id}:{index}"


def reminder_id(assignment_id: str, index: int, kind: str) -> str:
    return f"{occurrence_key(assignment_id, index)}:{kind}"


class AssignmentStore(TenantRepository):
    collection_name = ASSIGNMENTS

    def create(self, route: str, body: Mapping[str, Any], build: Callable[[str], Mapping[str, Any]]) -> tuple[dict, bool]:
        return create_once(self.records, route, body, build)

    def get(self, assignment_id: str) -> dict | None:
        return self.records.find_by_id(assignment_id)

    def page(self, filters: Mapping[str, Any], *, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        """Newest first."""
        return page(self.records, filters, limit=limit, cursor=cursor, descending=True)

    def cancellations(self, assignment_ids: Iterable[str]) -> dict[str, dict]:
        return _by_id(self.scoped(CANCELLATIONS), assignment_ids)

    def cancel(self, assignment: Mapping[str, Any], by: str, reason: str | None, now: datetime) -> dict:
        """Cancel once; a second cancellation returns the first."""
        record = {
            "_id": assignment["_id"],
            "client_id": assignment["client_id"],
            "cancelled_by": by,
            "reason": reason,
            "cancelled_at": now,
        }
        cancellations = self.scoped(CANCELLATIONS)
        if cancellations.insert_once(record):
            return {**record, "tenant": self.scope.tenant}
        return cancellations.find_by_id(assignment["_id"]) or record

    def fulfilments(self, keys: Iterable[str]) -> dict[str, dict]:
        """The fulfilments of these occurrences, by occurrence key."""
        return _by_id(self.scoped(FULFILMENTS), keys)

    def fulfil(self, assignment: Mapping[str, Any], index: int, response: Mapping[str, Any]) -> bool:
        """Record that ``response`` answered occurrence ``index``; False if another already did."""
        return self.scoped(FULFILMENTS).insert_once(
            {
                "_id": occurrence_key(assignment["_id"], index),
                "client_id": assignment["client_id"],
                "assignment_id": assignment["_id"],
                "index": index,
                "response_id": response["_id"],
                "completed_at": response["completed_at"],
            }
        )


def _by_id(records: ScopedCollection, ids: Iterable[str]) -> dict[str, dict]:
    """Records by id: one lookup by ``_id`` alone when there is one (cheap on FerretDB), else
    one query for all."""
    wanted = sorted(set(ids))
    if len(wanted) == 1:
        found = records.find_by_id(wanted[0])
        return {wanted[0]: found} if found else {}
    if not wanted:
        return {}
    return {doc["_id"]: doc for doc in records.find({"_id": {"$in": wanted}})}


class ReminderLedger:
    """What the reminder job reads and claims, across tenants: each record keeps its tenant."""

    def __init__(self, database: Database):
        self.database = database

    def live_assignments(self, now: datetime) -> list[dict]:
        """Assignments that are not cancelled and have not ended (filtered here: FerretDB would
        scan for a range query anyway)."""
        cancelled = {doc["_id"] for doc in self.database[CANCELLATIONS].find({}, {"_id": 1})}
        return [
            doc
            for doc in self.database[ASSIGNMENTS].find({}, {"outbox": 0, "idempotency": 0})
            if doc["_id"] not in cancelled and (doc.get("ends_at") is None or doc["ends_at"] > now)
        ]

    def fulfilled(self, keys: Iterable[str]) -> set[str]:
        return self._existing(FULFILMENTS, keys)

    def claimed(self, ids: Iterable[str]) -> set[str]:
        return self._existing(REMINDERS, ids)

    def claim(self, reminder: Mapping[str, Any]) -> bool:
        """Insert the reminder (with its event) unless another worker already did."""
        return insert_once(self.database[REMINDERS], reminder)

    def _existing(self, collection: str, ids: Iterable[str]) -> set[str]:
        wanted = list(ids)
        if not wanted:
            return set()
        return {doc["_id"] for doc in self.database[collection].find({"_id": {"$in": wanted}}, {"_id": 1})}
