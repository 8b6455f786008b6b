"""The reminder job: ``questionnaire.due`` once per occurrence, however many workers run it.

Each run looks at every live assignment's occurrence open now (``domain.schedule``). An
unanswered one gets a ``due`` reminder while it is due, and an ``overdue`` reminder once it is
overdue. A reminder is a claim: a record under ``_id = "<occurrence key>:<kind>"`` that carries
its event, inserted with ``insert_once``. Two workers that both decide to remind insert the same
id; one insert wins, and only its event is stored, so only one is published. Occurrences that
closed while no worker ran are not reminded: they were missed, and the next one is what to ask.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from services.questionnaires import events
from services.questionnaires.actions import schedule_of
from services.questionnaires.adapters.assignments import ReminderLedger, occurrence_key, reminder_id
from services.questionnaires.domain import occurrence_at
from services.questionnaires.domain.schedule import DUE, OVERDUE
from shared.events.outbox import with_events

log = logging.getLogger(__name__)


def raise_reminders(ledger: ReminderLedger, now: datetime, grace: timedelta) -> int:
    """Claim and raise the reminders due at ``now``; returns how many this call raised."""
    wanted = []
    for assignment in ledger.live_assignments(now):
        found = occurrence_at(schedule_of(assignment, grace), now)
        if found is None:
            continue
        overdue = found.overdue_at is not None and now >= found.overdue_at
        wanted.append((assignment, found, OVERDUE if overdue else DUE))
    if not wanted:
        return 0
    fulfilled = ledger.fulfilled(occurrence_key(a["_id"], o.index) for a, o, _ in wanted)
    claimed = ledger.claimed(reminder_id(a["_id"], o.index, kind) for a, o, kind in wanted)
    raised = 0
    for assignment, found, kind in wanted:
        claim_id = reminder_id(assignment["_id"], found.index, kind)
        if claim_id in claimed or occurrence_key(assignment["_id"], found.index) in fulfilled:
            continue
        reminder = {
            "_id": claim_id,
            "tenant": assignment["tenant"],
            "client_id": assignment["client_id"],
            "assignment_id": assignment["_id"],
            "index": found.index,
            "kind": kind,
            "due_at": found.due_at,
            "overdue_at": found.overdue_at,
            "closes_at": found.closes_at,
            "raised_at": now,
        }
        if ledger.claim(with_events(reminder, [events.due(reminder, assignment, now)], now)):
            raised += 1
    if raised:
        log.info("questionnaire reminders raised", extra={"count": raised})
    return raised
