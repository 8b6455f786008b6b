"""The goals API as the tests call it, goals they create, events they feed, and what they read back from the goals' database:
shared by the service and the integration tiers."""
from __future__ import annotations

from typing import Any

import uuid

from services.goals import config
from services.goals.adapters.store import CLAIM, CREATED, ENTRY, RATING, REVISION
from shared.events.envelope import new_event
from tests.support.caller import THERAPIST, Caller

HISTORY_RECORDS = (CREATED, REVISION, ENTRY, CLAIM, RATING)


class GoalsApi(Caller):
    """The goals API, over HTTP or in process (``tests.support.caller``)."""

    def create(self, body=None, *, who=THERAPIST, **fields) -> dict:
        """Create a goal (a PHQ-9 goal unless told otherwise) and return it."""
        return self.created("/v1/goals", {**phq9_goal(), **fields} if body is None else body, who=who)


def phq9_goal(**fields) -> dict:
    """The contract's example: "PHQ-9 below 10", from 16 to 9 in twelve weeks."""
    return {
        "client_id": "client-1",
        "title": "Bring my PHQ-9 score below 10 by walking daily",
        "description": "Walk 20 minutes after lunch every day",
        "category": "emotional_wellbeing",
        "measure": {"kind": "instrument", "instrument": "phq9", "baseline": 16, "target": 9, "direction": "decrease"},
        "start_date": "2026-01-05",
        "target_date": "2026-03-30",
        **fields,
    }


def walking_goal(**fields) -> dict:
    """A count goal: from 0 to 10 walks a week over ten weeks."""
    return {
        "client_id": "client-1",
        "title": "Walk for 20 minutes after lunch",
        "category": "behavioral",
        "measure": {"kind": "count", "unit": "walks", "baseline": 0, "target": 10, "per": "week"},
        "start_date": "2026-01-05",
        "target_date": "2026-03-16",
        **fields,
    }


def scored(total: int, *, response_id: str | None = None, client_id: str = "client-1", tenant: str = "clinic-a",
           instrument: str = "phq9", completed_at: str = "2026-01-05T08:30:00Z") -> dict:
    return new_event(
        "questionnaire.scored", tenant=tenant, subject=response_id or str(uuid.uuid4()),
        data={"response_id": response_id or str(uuid.uuid4()), "client_id": client_id, "instrument": instrument,
              "score": {"total": total, "severity": "moderate", "subscales": {}, "flags": []},
              "change": {"baseline_total": 16, "previous_total": None, "delta": None, "reliable_change": None},
              "completed_at": completed_at},
    )


def stored_events(db, name: str | None = None) -> list[dict]:
    """Events stored with goal records, by event time and then record id (a revision's id ends
    in its zero-padded seq), whatever the relay has done with them."""
    found: list[tuple[Any, str, dict]] = []  # (event time, record id, event)
    for collection in config.OUTBOX_COLLECTIONS:
        for document in db[collection].find({"outbox.events": {"$exists": True}}):
            found.extend((event["time"], str(document["_id"]), event) for event in document["outbox"]["events"])
    ordered = [event for _, _, event in sorted(found, key=lambda item: item[:2])]
    return [event for event in ordered if name is None or event["type"] == f"stepwise.{name}.v1"]


def counts(db) -> dict[str, int]:
    """How many records of each kind the goals' histories hold, and how many current-goal
    documents there are: bad input must leave these alone."""
    found = {kind: db[config.HISTORY].count_documents({"record": kind}) for kind in HISTORY_RECORDS}
    found[config.CURRENT] = db[config.CURRENT].count_documents({})
    return found
