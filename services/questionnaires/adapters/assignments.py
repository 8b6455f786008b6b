"""MongoDB storage of assignments, of what happened to them and of their reminders, all by insert.

An assignment is inserted once (carrying ``questionnaire.assigned``) and never changed. What
happens afterwards is a claim beside it, keyed so that it can happen only once, and carrying
the client's id and the assignment's id top-level:

- a cancellation, ``_id`` = the assignment's id;
- a fulfilment, ``_id`` = the occurrence key (``<assignment id>:<index>``): the response that
  answered that occurrence (a second response for the same occurrence is kept, but does not
  fulfil it again);
- a reminder, ``_id`` = ``<occurrence key>:<kind>``, carrying ``questionnaire.due`` (written by
  the worker, see ``services.questionnaires.jobs``), planned in the reminder timetable.

Reads, each by equality on top-level fields (docs/STORAGE.md):

- one assignment, its cancellation, one fulfilment, one reminder: by ``_id``;
- a client's assignments: ``{tenant, client_id}`` (and ``instrument``), newest first, one query
  (a handful per course of treatment); a tenant's: a month at a time (``TENANT_ASSIGNMENTS``);
- what the assignment views need, the cancellations and fulfilments of a client's assignments:
  ``{tenant, client_id}`` on each (:meth:`AssignmentStore.facts`), one query each for all of a
  client's assignments on a page. They are small records, one per cancellation and one per
  answered occurrence: fewer than the client's responses, which a trajectory reads anyway.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from services.questionnaires.config import (
    ASSIGNMENTS,
    CANCELLATIONS,
    FULFILMENTS,
    REMINDER_SLOT_SECONDS,
    REMINDER_TIMETABLE,
    REMINDERS,
    TENANT_ASSIGNMENTS,
)
from services.questionnaires.domain import Occurrence, Schedule
from services.questionnaires.domain.schedule import DUE, OVERDUE
from shared.idempotency import create_once
from shared.mongo import Database, TenantRepository, insert_once
from shared.paging import page
from shared.timetable import Timetable


def occurrence_key(assignment_id: str, index: int) -> str:
    return f"{assignment_id}:{index}"


def reminder_id(assignment_id: str, index: int, kind: str) -> str:
    return f"{occurrence_key(assignment_id, index)}:{kind}"


def schedule_of(assignment: Mapping[str, Any], grace: timedelta) -> Schedule:
    """A stored assignment's schedule."""
    return Schedule(assignment["starts_at"], assignment["every_days"], assignment.get("ends_at"), grace)


@dataclass(frozen=True)
class Facts:
    """What happened to a client's assignments: cancellations by assignment id, fulfilments by
    occurrence key."""

    cancellations: dict[str, dict]
    fulfilments: dict[str, dict]


class AssignmentStore(TenantRepository):
    collection_name = ASSIGNMENTS

    def create(self, route: str, body: Mapping[str, Any], build: Callable[[str], Mapping[str, Any]]) -> tuple[dict, bool]:
        def listed(assignment_id: str) -> dict:
            assignment = {**build(assignment_id), "tenant": self.scope.tenant}
            return TENANT_ASSIGNMENTS.stamp(self.database, assignment)

        return create_once(self.records, route, body, listed)

    def get(self, assignment_id: str) -> dict | None:
        return self.records.find_by_id(assignment_id)

    def page(self, filters: Mapping[str, Any], *, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        """Newest first; ``filters``: ``client_id`` and ``instrument``, both optional. A client's
        (named, or the caller) in one query, else the tenant's a month at a time."""
        client_id = filters.get("client_id") or self.scope.client_id
        where = {"instrument": filters["instrument"]} if filters.get("instrument") else {}
        if client_id is not None:
            return page(self.records, {"client_id": client_id, **where}, limit=limit, cursor=cursor, descending=True)
        return TENANT_ASSIGNMENTS.page(
            self.database, self.records, {"tenant": self.scope.tenant}, limit=limit, cursor=cursor, where=where
        )

    def of_instrument(self, client_id: str, code: str) -> list[dict]:
        """The client's assignments of one instrument (a handful), for a response sent without
        ``assignment_id``."""
        return list(self.records.find({"client_id": client_id, "instrument": code}))

    def cancellation(self, assignment_id: str) -> dict | None:
        return self.scoped(CANCELLATIONS).find_by_id(assignment_id)

    def cancel(self, assignment: Mapping[str, Any], by: str, reason: str | None, now: datetime) -> dict:
        """Cancel once; a second cancellation returns the first."""
        record = {
            "_id": assignment["_id"],
            "client_id": assignment["client_id"],
            "assignment_id": assignment["_id"],
            "cancelled_by": by,
            "reason": reason,
            "cancelled_at": now,
        }
        cancellations = self.scoped(CANCELLATIONS)
        if cancellations.insert_once(record):
            return {**record, "tenant": self.scope.tenant}
        return cancellations.find_by_id(assignment["_id"]) or record

    def facts(self, client_id: str) -> Facts:
        """The cancellations and fulfilments of the client's assignments: two equality queries."""
        query = {"client_id": client_id}
        cancellations = {doc["_id"]: doc for doc in self.scoped(CANCELLATIONS).find(query)}
        fulfilments = {doc["_id"]: doc for doc in self.scoped(FULFILMENTS).find(query, projection={"response_id": 1})}
        return Facts(cancellations, fulfilments)

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


class ReminderLedger:
    """The reminder timetable, and what its job reads and claims, across tenants.

    Every entry and record keeps its tenant, and an entry acts only on an assignment of its own
    tenant. Entries are planned as ``{_id: <reminder id>, tenant, assignment_id, index, kind,
    planned_at}`` at the time the reminder would be raised (one moved later gets a suffixed id);
    the job reads the rest by ``_id``.
    """

    def __init__(self, database: Database):
        self.database = database
        self.timetable = Timetable(database, REMINDER_TIMETABLE, slot_seconds=REMINDER_SLOT_SECONDS)

    def plan(self, assignment: Mapping[str, Any], occurrence: Occurrence, now: datetime) -> None:
        """Put the entries that remind ``occurrence``: when it is due, and when it is overdue (if
        it can be). Keyed by the reminder's id, so planning again changes nothing."""
        for kind, at in ((DUE, occurrence.due_at), (OVERDUE, occurrence.overdue_at)):
            if at is not None:
                self.timetable.put(
                    reminder_id(assignment["_id"], occurrence.index, kind), at, now,
                    tenant=assignment["tenant"], assignment_id=assignment["_id"], index=occurrence.index, kind=kind,
                    planned_at=now,
                )

    def done(self, entry: Mapping[str, Any]) -> None:
        self.timetable.done(entry["_id"])

    def assignment(self, entry: Mapping[str, Any]) -> dict | None:
        """The entry's assignment, if it is stored (and is of the entry's tenant)."""
        found = self.database[ASSIGNMENTS].find_one({"_id": entry["assignment_id"]}, {"outbox": 0, "idempotency": 0})
        return found if found is not None and found["tenant"] == entry["tenant"] else None

    def cancelled(self, assignment_id: str) -> bool:
        return self._exists(CANCELLATIONS, assignment_id)

    def fulfilled(self, assignment_id: str, index: int) -> bool:
        return self._exists(FULFILMENTS, occurrence_key(assignment_id, index))

    def claim(self, reminder: Mapping[str, Any]) -> bool:
        """Insert the reminder (with its event) unless another worker already did."""
        return insert_once(self.database[REMINDERS], reminder)

    def _exists(self, collection: str, record_id: str) -> bool:
        return self.database[collection].find_one({"_id": record_id}, {"_id": 1}) is not None
