"""Goals stored in the five-collection layout move into their histories, once, without their
events being published again."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.goals import config
from services.goals.migrate import migrate
from shared.journal import JOURNAL
from shared.mongo import Database
from tests.integration.goals.conftest import START

pytestmark = pytest.mark.integration

GOAL_ID = "0b6f5c7e-3a4f-4d0e-9d55-2f0c2b7c1a10"
MILESTONE_ID = "6a1d2f7b-8c3e-4b9a-a1f0-5e4d3c2b1a09"


def sent(document: dict) -> dict:
    """A record as the old code stored it: with its events, long since journalled and sent."""
    return {**document, "outbox": {"events": [{"id": f"event-{document['_id']}", "type": "stepwise.goal.x.v1"}],
                                   "at": START, "entry": f"entry-{document['_id']}", "written_at": START}}


def old_layout(db) -> None:
    about = {"tenant": "clinic-a", "client_id": "client-1"}
    db["goals"].insert_one(sent({
        "_id": GOAL_ID, **about, "therapist_id": "therapist-1", "title": "Bring my PHQ-9 score below 10 by walking daily",
        "description": None, "category": "emotional_wellbeing",
        "measure": {"kind": "instrument", "instrument": "phq9", "unit": None, "baseline": 16, "target": 9,
                    "direction": "decrease", "per": None},
        "start_date": "2026-01-05", "target_date": "2026-03-30", "parent_goal_id": None,
        "milestones": [{"id": MILESTONE_ID, "title": "Half way", "value": None, "percent": 50, "due_date": None}],
        "smart": {}, "created_at": START, "created_by": "therapist-1", "idempotency": None,
    }))
    db["goal_revisions"].insert_one(sent({
        "_id": f"{GOAL_ID}:00000001", **about, "goal_id": GOAL_ID, "seq": 1, "kind": "revise",
        "changes": {"target_date": {"from": "2026-03-30", "to": "2026-01-12"}}, "reason": "A first step",
        "by": "therapist-1", "at": START + timedelta(hours=1), "smart": {},
    }))
    for minutes, value in ((10, 14), (20, 12)):
        db["goal_progress"].insert_one(sent({
            "_id": f"entry-{minutes}", **about, "goal_id": GOAL_ID, "value": value, "note": None, "source": "client",
            "by": "client-1", "recorded_at": START + timedelta(minutes=minutes), "created_at": START + timedelta(minutes=minutes),
            "idempotency": None,
        }))
    db["goal_claims"].insert_one(sent({
        "_id": f"{GOAL_ID}:milestone:{MILESTONE_ID}", **about, "goal_id": GOAL_ID, "kind": "milestone_reached",
        "milestone_id": MILESTONE_ID, "entry_id": "entry-20", "value": 12, "reached_at": START + timedelta(minutes=20),
        "at": START + timedelta(minutes=20),
    }))


def test_old_goals_move_into_their_histories_once(api, db, harness, clock):
    old_layout(db)
    database = Database(harness.mongo_url, harness.database_name("goals"), config.INDEXES)

    assert migrate(database, clock.now(), 7) == {"goals": 1, "goal_revisions": 1, "goal_progress": 2, "goal_claims": 1,
                                                 "goal_ratings": 0}
    shown = api.get(f"/v1/goals/{GOAL_ID}").json()
    assert shown["target_date"] == "2026-01-12" and [r["seq"] for r in shown["revisions"]] == [1]
    assert shown["progress"]["current"] == 12 and shown["milestones"][0]["reached_at"] == "2026-01-05T09:20:00.000Z"
    assert [e["value"] for e in api.get(f"/v1/goals/{GOAL_ID}/progress").json()["items"]] == [14, 12]
    [listed] = api.get("/v1/goals", params={"therapist_id": "therapist-1"}).json()["items"]
    assert listed == shown
    assert db[config.DEADLINES].count_documents({"goal_id": GOAL_ID, "target_date": "2026-01-12"}) == 1
    assert db[JOURNAL].count_documents({}) == 0, "the copied records' events are not published again"

    assert migrate(database, clock.now(), 7) == dict.fromkeys(
        ("goals", "goal_revisions", "goal_progress", "goal_claims", "goal_ratings"), 0
    )
    assert db[config.HISTORY].count_documents({"goal_id": GOAL_ID}) == 5
    # The next change takes the next seq after the copied revision.
    changed = api.post(f"/v1/goals/{GOAL_ID}/status", {"status": "on_hold"}).json()
    assert [r["seq"] for r in changed["revisions"]] == [1, 2]
    database.close()
