"""The goals worker's handlers called directly: an event in, the stored records and the events
stored with them out (what the relay publishes). A handler only sees events the registry accepts
(``shared.events.consumer``); the same events through the broker, redelivery and the dead letters
of malformed ones are in tests/integration/goals/test_goals_worker.py."""
from __future__ import annotations

import pytest

from services.goals.handlers import score_handler
from tests.support.goals import counts, phq9_goal, scored, stored_events, walking_goal

pytestmark = pytest.mark.service

DUE_SOON_DAYS = 7
CLINIC_B = ("therapist", "therapist-9", "clinic-b")


@pytest.fixture
def handle(database, clock):
    return score_handler(database, clock, DUE_SOON_DAYS)


def test_scores_feed_the_clients_instrument_goals_and_achieve_them(api, db, handle):
    goal = api.create(phq9_goal(milestones=[{"title": "Out of moderately severe", "value": 14}]))
    walking = api.create(walking_goal())

    handle(scored(12, response_id="response-1"))
    [entry] = api.get(f"/v1/goals/{goal['id']}/progress").json["items"]
    assert entry["source"] == "score" and entry["recorded_at"] == "2026-01-05T08:30:00.000Z"
    shown = api.get(f"/v1/goals/{goal['id']}").json
    assert shown["progress"]["current"] == 12 and shown["status"] == "active"
    assert shown["milestones"][0]["reached_at"] == "2026-01-05T08:30:00.000Z"
    assert api.get(f"/v1/goals/{walking['id']}/progress").json["items"] == [], "a count goal takes no scores"

    handle(scored(8, response_id="response-2", completed_at="2026-01-05T08:45:00Z"))
    assert api.get(f"/v1/goals/{goal['id']}").json["status"] == "achieved"

    recorded = [event["data"] for event in stored_events(db, "goal.progress_recorded")]
    assert [(d["value"], d["source"], d["percent"]) for d in recorded] == [(12, "score", 57.1), (8, "score", 100.0)]
    [achieved] = stored_events(db, "goal.achieved")
    assert achieved["tenantid"] == "clinic-a" and achieved["data"]["goal_id"] == goal["id"]
    assert achieved["data"]["how"] == "target_met" and achieved["data"]["therapist_id"] == "therapist-1"
    [changed] = stored_events(db, "goal.status_changed")
    assert (changed["data"]["from"], changed["data"]["to"]) == ("active", "achieved")


def test_a_second_event_about_the_same_response_adds_nothing(api, db, handle):
    goal = api.create(phq9_goal())
    handle(scored(12, response_id="response-1"))
    before = counts(db)
    handle(scored(12, response_id="response-1"))  # another event id, the same response
    assert counts(db) == before
    assert len(api.get(f"/v1/goals/{goal['id']}/progress").json["items"]) == 1


def test_a_score_for_another_clinic_stays_there(api, handle):
    ours = api.create(phq9_goal())
    theirs = api.create(phq9_goal(), who=CLINIC_B)
    handle(scored(11, tenant="clinic-b"))
    assert api.get(f"/v1/goals/{theirs['id']}", who=CLINIC_B).json["progress"]["current"] == 11
    assert api.get(f"/v1/goals/{ours['id']}").json["progress"]["current"] is None
