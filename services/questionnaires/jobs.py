"""The questionnaires worker's periodic job, reminders: ``questionnaire.due`` once per occurrence,
however many workers run the job.

An assignment's reminders are planned in a timetable (``shared.timetable``, collection
``reminder_timetable``), an occurrence at a time: an entry at the time the occurrence is due
and one at the time it is overdue (:func:`plan_reminders`). The first occurrence's are planned
when the assignment is made, before it is stored, so no stored assignment is without them. Each
entry's id is its reminder's, ``<occurrence key>:<kind>``, so planning twice is a no-op.

Every ``REMINDER_CHECK_SECONDS`` the job (:func:`raise_reminders`) hands each entry that has come
due to :func:`remind`, which

1. reads the assignment, its cancellation and the occurrence's fulfilment, each by ``_id``;
2. raises the reminder when the occurrence is open now, is in the entry's state (``due``, or
   ``overdue``) and is unanswered: a claim, a record under the reminder's id that carries its
   event, inserted with ``insert_once``. Of several workers only one insert wins, so one event is
   stored per occurrence and kind; its event id is derived from the claim, so a copy published
   twice is dropped by consumers;
3. plans the next occurrence: the one after this, or the one open now when the worker was
   stopped past some (those that closed meanwhile were missed, not reminded);
4. removes the entry.

A crash between these steps leaves the entry, and handling it again repeats nothing (the claim
and the planned entries are keyed). An entry that comes earlier than the stored assignment's
schedule says (planned by a request that lost its Idempotency-Key to another body) is moved to
the stored time. A cancelled assignment's entries raise and plan nothing: the
cancellation ends the chain, and entries already planned are removed when their time comes. An
occurrence first seen when already overdue gets only the overdue reminder: its due entry,
handled late, finds it overdue and leaves it to the overdue entry. Both entries plan the next
occurrence, so the chain goes on if either is handled.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Mapping

from services.questionnaires import events
from services.questionnaires.adapters.assignments import ReminderLedger, reminder_id, schedule_of
from services.questionnaires.domain import Occurrence, next_to_remind, occurrence_at, status
from services.questionnaires.domain.schedule import DUE, occurrence
from shared.events.outbox import with_events

log = logging.getLogger(__name__)

# An entry is planned just before its assignment is stored. An entry whose assignment is not
# (yet) found is looked at again until it is this old, then dropped: the request that planned it
# failed before storing the assignment.
IN_FLIGHT = timedelta(minutes=10)
# A run hands out entries a batch at a time, until a batch is not full or this many batches were
# handled: a busy hour (every weekly assignment made on a Monday morning) goes out in one run, up
# to 5,000 reminders, and the rest in the next.
BATCH = 200
MAX_BATCHES = 25


def plan_reminders(
    ledger: ReminderLedger, assignment: Mapping[str, Any], grace: timedelta, now: datetime, after: int | None = None
) -> None:
    """Plan the reminders of the occurrence to remind next, after occurrence ``after`` (from the
    first when None)."""
    found = next_to_remind(schedule_of(assignment, grace), now, after)
    if found is not None:
        ledger.plan(assignment, found, now)


def remind(ledger: ReminderLedger, entry: Mapping[str, Any], now: datetime, grace: timedelta) -> bool:
    """Handle one due timetable entry; True when it raised its reminder."""
    assignment = ledger.assignment(entry)
    if assignment is None:
        if now - entry["planned_at"] >= IN_FLIGHT:
            ledger.done(entry)
        return False
    raised = False
    if not ledger.cancelled(assignment["_id"]):
        index, kind = entry["index"], entry["kind"]
        schedule = schedule_of(assignment, grace)
        at = _time_of(occurrence(schedule, index), kind)
        if at is not None and at > now:
            # Planned for a time the stored assignment does not have (by a request whose
            # Idempotency-Key another body took first): at the stored time instead.
            ledger.timetable.move(entry, f"{entry['_id']}@{ledger.timetable.slot(at)}", at, now)
            return False
        current = occurrence_at(schedule, now)
        if (
            current is not None and current.index == index and status(current, now, fulfilled=False) == kind
            and not ledger.fulfilled(assignment["_id"], index)
        ):
            reminder = {
                "_id": reminder_id(assignment["_id"], index, kind),
                "tenant": assignment["tenant"],
                "client_id": assignment["client_id"],
                "assignment_id": assignment["_id"],
                "index": index,
                "kind": kind,
                "due_at": current.due_at,
                "overdue_at": current.overdue_at,
                "closes_at": current.closes_at,
                "raised_at": now,
            }
            raised = ledger.claim(with_events(reminder, [events.due(reminder, assignment, now)], now,
                                              ordering_key=assignment["client_id"]))
        plan_reminders(ledger, assignment, grace, now, after=index)
    ledger.done(entry)
    return raised


def _time_of(found: Occurrence | None, kind: str) -> datetime | None:
    """When ``found``'s reminder of ``kind`` is raised (None: never)."""
    if found is None:
        return None
    return found.due_at if kind == DUE else found.overdue_at


def raise_reminders(ledger: ReminderLedger, now: datetime, grace: timedelta) -> int:
    """Handle the timetable's entries due by ``now``; returns how many reminders this call raised."""
    raised = 0

    def handle(entry: dict) -> None:
        nonlocal raised
        raised += remind(ledger, entry, now, grace)

    for _ in range(MAX_BATCHES):
        if ledger.timetable.run(now, handle, limit=BATCH) < BATCH:
            break
    if raised:
        log.info("questionnaire reminders raised", extra={"count": raised})
    return raised
