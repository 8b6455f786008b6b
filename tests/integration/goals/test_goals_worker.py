"""The goals worker against the real broker: scores published reach the client's goals (once,
however often they are delivered), a broken one ends in dead letters, due-soon reminders are raised
once however many replicas run, and every event reaches the exchange. What the handlers do with
one event is in tests/service/goals/test_goals_handlers.py."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from services.goals.jobs import raise_due_soon
from shared.events import amqp
from shared.events.publisher import Publisher
from shared.mongo import Database
from tests.integration.goals.conftest import events_in
from tests.support.goals import counts, phq9_goal, scored, walking_goal
from tests.support.harness import wait_for

pytestmark = pytest.mark.integration


def publish(harness, *events: dict) -> None:
    publisher = Publisher(harness.amqp_url, harness.exchange)
    try:
        for event in events:
            publisher.publish(event)
    finally:
        publisher.close()


def test_scores_feed_the_clients_instrument_goals_and_achieve_them(api, db, harness, start_worker):
    watched = harness.bind_queue(["goal.progress_recorded", "goal.achieved", "goal.status_changed"])
    worker = start_worker()
    goal = api.create(phq9_goal(milestones=[{"title": "Out of moderately severe", "value": 14}]))
    walking = api.create(walking_goal())
    elsewhere = api.create(phq9_goal(), who=("therapist", "therapist-9", "clinic-b"))

    first = scored(12, response_id="response-1")
    publish(harness, first)
    # The worker appends the progress entry, then the milestone it passes: wait for both.
    wait_for(lambda: (shown := api.get(f"/v1/goals/{goal['id']}").json())["progress"]["current"] == 12
             and shown["milestones"][0]["reached_at"] is not None, what="the score as progress, passing the milestone")
    [entry] = api.get(f"/v1/goals/{goal['id']}/progress").json()["items"]
    assert entry["source"] == "score" and entry["recorded_at"] == "2026-01-05T08:30:00.000Z"
    shown = api.get(f"/v1/goals/{goal['id']}").json()
    assert shown["status"] == "active" and shown["milestones"][0]["reached_at"] == "2026-01-05T08:30:00.000Z"
    assert api.get(f"/v1/goals/{walking['id']}/progress").json()["items"] == []

    publish(harness, scored(8, response_id="response-2", completed_at="2026-01-05T08:45:00Z"))
    wait_for(lambda: api.get(f"/v1/goals/{goal['id']}").json()["status"] == "achieved", what="the goal achieved")

    received = []
    wait_for(lambda: received.extend(events_in(harness, watched)) or len(received) >= 4, what="four events")
    kinds = [event["type"] for event in received]
    assert kinds.count("stepwise.goal.progress_recorded.v1") == 2
    [achieved] = [e for e in received if e["type"] == "stepwise.goal.achieved.v1"]
    assert achieved["tenantid"] == "clinic-a" and achieved["data"]["goal_id"] == goal["id"]
    assert achieved["data"]["how"] == "target_met" and achieved["data"]["therapist_id"] == "therapist-1"
    [changed] = [e for e in received if e["type"] == "stepwise.goal.status_changed.v1"]
    assert (changed["data"]["from"], changed["data"]["to"]) == ("active", "achieved")
    recorded = [e["data"] for e in received if e["type"] == "stepwise.goal.progress_recorded.v1"]
    assert [(d["value"], d["source"], d["percent"]) for d in recorded] == [(12, "score", 57.1), (8, "score", 100.0)]

    # Redelivery of the same event, and a new event about the same response, add nothing.
    before = counts(db)
    same_response = scored(12, response_id="response-1")
    publish(harness, first, same_response)
    wait_for(lambda: db["processed_events"].find_one({"event_id": same_response["id"]}), what="the second event handled")
    queue = worker.consumers[0].topology.queue
    wait_for(lambda: harness.message_count(queue) == 0, what="the duplicate taken")
    assert counts(db) == before
    assert api.get(f"/v1/goals/{elsewhere['id']}", who=("therapist", "therapist-9", "clinic-b")).json()["progress"]["current"] is None


def test_a_score_without_a_total_is_dead_lettered(api, harness, start_worker):
    worker = start_worker()
    goal = api.create(phq9_goal())
    broken = scored(10)
    broken["data"]["score"] = {"severity": "mild"}
    publish(harness, broken)
    queue = worker.consumers[0].topology.queue
    wait_for(lambda: harness.message_count(amqp.dead_letter_queue(queue)) == 1, what="a dead letter")
    assert api.get(f"/v1/goals/{goal['id']}/progress").json()["items"] == []


def test_two_workers_raise_goal_due_soon_once_per_goal(api, db, harness, start_worker, clock):
    watched = harness.bind_queue(["goal.due_soon"])
    soon = api.create(walking_goal(title="Walk for 20 minutes every day", target_date="2026-01-09"))
    later = api.create(walking_goal(target_date="2026-03-16"))
    moved = api.create(walking_goal(title="Stretch every morning", target_date="2026-03-16"))
    api.patch(f"/v1/goals/{moved['id']}", {"target_date": "2026-01-12", "reason": "A shorter first step"})
    done = api.create(walking_goal(title="Join a walking group", target_date="2026-01-10"))
    api.post(f"/v1/goals/{done['id']}/status", {"status": "achieved"})
    postponed = api.create(walking_goal(title="Walk to work twice a week", target_date="2026-01-08"))
    api.patch(f"/v1/goals/{postponed['id']}", {"target_date": "2026-04-30", "reason": "Winter"})

    first = start_worker()
    second = start_worker()  # two replicas, both running the job at once
    received = []
    wait_for(lambda: received.extend(events_in(harness, watched)) or len(received) >= 2, what="due-soon events")
    # And once more, concurrently, straight from two threads.
    database = Database(harness.mongo_url, harness.database_name("goals"))
    run_twice(lambda: raise_due_soon(database, clock.now(), 7))

    claims = {"record": "claim", "kind": "due_soon"}
    # A claim is the only record that carries goal.due_soon: two claims, two events.
    assert db["goal_history"].count_documents(claims) == 2
    received += events_in(harness, watched)
    # Delivery is at least once (two relays may both publish a record): one event per goal,
    # whatever number of copies of it arrive.
    by_goal = {}
    for event in received:
        by_goal.setdefault(event["data"]["goal_id"], set()).add(event["id"])
    assert sorted(by_goal) == sorted([soon["id"], moved["id"]])
    assert all(len(ids) == 1 for ids in by_goal.values()), by_goal
    data = {event["data"]["goal_id"]: event["data"] for event in received}
    assert data[moved["id"]]["target_date"] == "2026-01-12", "the revised date counts"
    assert data[soon["id"]]["title"] == "Walk for 20 minutes every day"
    assert later["id"] not in data

    # A week before its date the later goal falls due; the moved goal's old date raises nothing.
    for worker in (first, second):
        worker.stop()
    clock.set(datetime(2026, 3, 9, 6, 0, tzinfo=timezone.utc))
    assert raise_due_soon(database, clock.now(), 7) == 1
    [claim] = db["goal_history"].find({**claims, "goal_id": later["id"]})
    assert claim["target_date"] == "2026-03-16"
    assert db["goal_history"].count_documents(claims) == 3, "the goal moved to January is not raised again"
    assert db["goal_deadlines"].count_documents({"goal_id": postponed["id"]}) == 1, "April's check waits"


def run_twice(job) -> None:
    """Run ``job`` in two threads at once, as two replicas would."""
    runs = [threading.Thread(target=job) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
