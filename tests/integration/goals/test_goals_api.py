"""The goals API over real HTTP against the real database: creation, lists, revisions, progress,
status, milestones, sub-goals, deadlines and goal attainment scaling."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.goals.conftest import counts, events_in, phq9_goal, stored_events, walking_goal
from tests.support.harness import wait_for

pytestmark = pytest.mark.integration


def test_a_created_goal_is_active_with_its_smart_assessment(api, db):
    response = api.post("/v1/goals", phq9_goal(measure={"kind": "instrument", "instrument": "phq9", "baseline": 16, "target": 9}))
    assert response.status_code == 201
    goal = response.json()
    assert goal["status"] == "active"
    assert goal["therapist_id"] == "therapist-1", "a therapist creating a goal is its therapist"
    assert goal["measure"]["direction"] == "decrease", "the direction is read from the numbers and kept"
    assert set(goal["smart"]) == {"specific", "measurable", "achievable", "realistic", "time_bound", "suggestions"}
    assert goal["smart"]["measurable"]["ok"] is True
    assert goal["progress"] == {"current": None, "percent": None, "trend": None, "on_track": None,
                                "target_met": False, "subgoals_percent": None}
    assert goal["revisions"] == [] and goal["overdue"] is False
    assert api.get(f"/v1/goals/{goal['id']}").json() == goal

    [event] = stored_events(db, "goal.created")
    assert event["subject"] == goal["id"] and event["tenantid"] == "clinic-a"
    assert event["data"]["therapist_id"] == "therapist-1" and event["data"]["title"] == goal["title"]


def test_a_vague_goal_is_stored_with_what_would_improve_it(api):
    goal = api.create({"client_id": "client-1", "title": "Be happier"})
    assert goal["start_date"] == "2026-01-05", "a goal starts today unless told otherwise"
    assert goal["smart"]["specific"]["ok"] is False
    assert goal["smart"]["measurable"]["ok"] is False
    assert goal["smart"]["suggestions"]


def test_the_same_idempotency_key_and_body_create_one_goal(api, db):
    headers = {"Idempotency-Key": "create-walk-1"}
    first = api.post("/v1/goals", walking_goal(), headers=headers)
    again = api.post("/v1/goals", walking_goal(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert counts(db)["created"] == 1
    assert len(stored_events(db, "goal.created")) == 1

    other = api.post("/v1/goals", walking_goal(title="Walk for 30 minutes after lunch"), headers=headers)
    assert other.status_code == 409
    assert other.headers["Content-Type"] == "application/problem+json"
    assert counts(db)["created"] == 1
    # Keys belong to their caller: another therapist's identical key creates their own goal.
    theirs = api.post("/v1/goals", walking_goal(), headers=headers, who=("therapist", "therapist-2", "clinic-a"))
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]


def test_lists_page_without_repeats_and_filter_by_client_and_status(api, clock):
    made = []
    for week in range(5):
        made.append(api.create(walking_goal(title=f"Walk for {20 + week} minutes after lunch"))["id"])
        clock.advance(minutes=1)
    api.create(walking_goal(client_id="client-2"))
    api.post(f"/v1/goals/{made[1]}/status", {"status": "abandoned", "reason": "Knee injury"})

    seen, cursor, pages = [], None, 0
    while True:
        response = api.get("/v1/goals", params={"client_id": "client-1", "limit": 2, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        page = response.json()
        seen += [goal["id"] for goal in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made and pages == 3

    abandoned = api.get("/v1/goals", params={"client_id": "client-1", "status": "abandoned"}).json()
    assert [goal["id"] for goal in abandoned["items"]] == [made[1]]
    active = api.get("/v1/goals", params={"client_id": "client-1", "status": "active", "limit": 3}).json()
    assert [goal["id"] for goal in active["items"]] == [made[0], made[2], made[3]]
    rest = api.get("/v1/goals", params={"client_id": "client-1", "status": "active", "cursor": active["next_cursor"]}).json()
    assert [goal["id"] for goal in rest["items"]] == [made[4]] and rest["next_cursor"] is None
    assert len(api.get("/v1/goals").json()["items"]) == 6, "staff may list the whole clinic"


def test_a_revision_keeps_the_history_and_the_progress(api, db, clock):
    goal = api.create()
    api.post(f"/v1/goals/{goal['id']}/progress", {"value": 13})
    clock.advance(days=1)

    response = api.patch(f"/v1/goals/{goal['id']}", {"measure": {"target": 10}, "target_date": "2026-04-13",
                                                     "reason": "Aim for the edge of caseness first"})
    assert response.status_code == 200
    revised = response.json()
    assert revised["measure"]["target"] == 10 and revised["measure"]["instrument"] == "phq9"
    assert revised["target_date"] == "2026-04-13"
    assert revised["progress"]["current"] == 13
    assert revised["progress"]["percent"] == 50.0, "(16 - 13) / (16 - 10)"
    [revision] = revised["revisions"]
    assert revision == {
        "seq": 1, "kind": "revise", "by": "therapist-1", "at": "2026-01-06T09:00:00.000Z",
        "reason": "Aim for the edge of caseness first",
        "changes": {"measure": {"from": {"target": 9}, "to": {"target": 10}},
                    "target_date": {"from": "2026-03-30", "to": "2026-04-13"}},
    }
    [event] = stored_events(db, "goal.revised")
    assert event["data"]["changes"] == revision["changes"] and event["data"]["reason"] == revision["reason"]

    unchanged = api.patch(f"/v1/goals/{goal['id']}", {"title": goal["title"], "reason": "No change"})
    assert unchanged.status_code == 200 and len(unchanged.json()["revisions"]) == 1, "nothing changed, nothing stored"

    api.patch(f"/v1/goals/{goal['id']}", {"therapist_id": "therapist-2", "reason": "Handed over"})
    history = api.get(f"/v1/goals/{goal['id']}/revisions", params={"limit": 1}).json()
    assert [r["seq"] for r in history["items"]] == [1]
    rest = api.get(f"/v1/goals/{goal['id']}/revisions", params={"cursor": history["next_cursor"]}).json()
    assert [r["seq"] for r in rest["items"]] == [2] and rest["next_cursor"] is None
    assert counts(db)["progress"] == 1
    assert api.get(f"/v1/goals/{goal['id']}").json()["therapist_id"] == "therapist-2"


def test_progress_shows_percent_trend_and_whether_it_is_on_track(api, clock):
    goal = api.create(walking_goal())  # 0 -> 10 walks a week, 2026-01-05 to 2026-03-16 (70 days)
    clock.advance(days=35)  # half the time has passed: 50% expected, 40% is on track
    for value in (3, 4):
        api.post(f"/v1/goals/{goal['id']}/progress", {"value": value})
        clock.advance(hours=1)
    response = api.post(f"/v1/goals/{goal['id']}/progress", {"value": 6, "note": "Walked with a friend"})
    assert response.status_code == 201
    assert response.json()["progress"] == {"current": 6, "percent": 60.0, "trend": "improving", "on_track": True,
                                           "target_met": False, "subgoals_percent": None}

    clock.advance(hours=1)
    behind = api.post(f"/v1/goals/{goal['id']}/progress", {"value": 2, "recorded_at": "2026-02-09T11:30:00Z"}).json()
    assert behind["progress"]["percent"] == 20.0
    assert behind["progress"]["trend"] == "worsening"
    assert behind["progress"]["on_track"] is False

    first = api.get(f"/v1/goals/{goal['id']}/progress", params={"limit": 3}).json()
    assert [entry["value"] for entry in first["items"]] == [3, 4, 6]
    assert first["items"][2]["note"] == "Walked with a friend" and first["items"][0]["source"] == "therapist"
    rest = api.get(f"/v1/goals/{goal['id']}/progress", params={"cursor": first["next_cursor"]}).json()
    assert [entry["value"] for entry in rest["items"]] == [2] and rest["next_cursor"] is None


def test_status_changes_follow_the_lifecycle(api, db):
    goal = api.create()
    path = f"/v1/goals/{goal['id']}/status"
    paused = api.post(path, {"status": "on_hold", "reason": "Travelling"})
    assert paused.status_code == 200 and paused.json()["status"] == "on_hold"

    same = api.post(path, {"status": "on_hold"})
    assert same.status_code == 409
    assert same.json()["allowed"] == ["active", "achieved", "abandoned"]

    assert api.post(path, {"status": "abandoned", "reason": "Moved away"}).status_code == 200
    refused = api.post(path, {"status": "achieved"})
    assert refused.status_code == 409
    assert refused.json()["allowed"] == ["active"]
    assert "active" in refused.json()["detail"]

    assert api.post(path, {"status": "active", "reason": "Back"}).status_code == 200
    marked = api.post(path, {"status": "achieved", "reason": "Remission held for a month"}).json()
    assert marked["status"] == "achieved"
    assert [r["changes"]["status"]["to"] for r in marked["revisions"]] == ["on_hold", "abandoned", "active", "achieved"]
    changed = [(e["data"]["from"], e["data"]["to"]) for e in stored_events(db, "goal.status_changed")]
    assert changed == [("active", "on_hold"), ("on_hold", "abandoned"), ("abandoned", "active"), ("active", "achieved")]
    [achieved] = stored_events(db, "goal.achieved")
    assert achieved["data"]["how"] == "marked"


def test_progress_that_meets_the_target_achieves_the_goal_once(api, db, clock):
    goal = api.create()
    met = api.post(f"/v1/goals/{goal['id']}/progress", {"value": 9}).json()
    clock.advance(days=1)
    assert met["status"] == "achieved"
    assert met["progress"]["target_met"] is True
    [revision] = met["revisions"]
    assert revision["kind"] == "status" and revision["reason"] == "The target was met."

    api.post(f"/v1/goals/{goal['id']}/status", {"status": "active", "reason": "One good score is not remission"})
    again = api.post(f"/v1/goals/{goal['id']}/progress", {"value": 7}).json()
    assert again["status"] == "active", "a goal reopened by a therapist is not achieved again by progress"
    assert len(stored_events(db, "goal.achieved")) == 1


def test_an_abandoned_goal_takes_no_progress(api, db):
    goal = api.create()
    api.post(f"/v1/goals/{goal['id']}/status", {"status": "abandoned"})
    refused = api.post(f"/v1/goals/{goal['id']}/progress", {"value": 12})
    assert refused.status_code == 409
    assert counts(db)["progress"] == 0


def test_milestones_reached_by_progress_raise_one_event_each(api, harness, start_worker, clock):
    queue = harness.bind_queue(["goal.milestone_reached"])
    goal = api.create(milestones=[{"title": "Half way", "percent": 50}])  # 16 -> 9: reached at 12.5
    response = api.post(f"/v1/goals/{goal['id']}/milestones",
                        {"title": "Out of moderate", "value": 11, "due_date": "2026-03-01"})
    assert response.status_code == 201
    [half, moderate] = response.json()["milestones"]
    assert half["threshold"] == 12.5 and moderate["threshold"] == 11
    assert moderate["due_date"] == "2026-03-01" and moderate["reached_at"] is None
    start_worker()

    for value in (14, 12, 13, 12, 11, 12, 10):  # crosses 12.5 twice and 11 once
        clock.advance(minutes=1)
        assert api.post(f"/v1/goals/{goal['id']}/progress", {"value": value}).status_code == 201

    received = []
    wait_for(lambda: received.extend(events_in(harness, queue)) or len(received) >= 2, what="two milestone events")
    assert [event["data"]["milestone"]["title"] for event in received] == ["Half way", "Out of moderate"]
    assert all(event["data"]["therapist_id"] == "therapist-1" for event in received)
    milestones = api.get(f"/v1/goals/{goal['id']}").json()["milestones"]
    assert [m["reached_at"] for m in milestones] == ["2026-01-05T09:02:00.000Z", "2026-01-05T09:05:00.000Z"]
    time.sleep(0.5)  # a few relay rounds: nothing more may come
    assert events_in(harness, queue) == [], "each milestone is reached once, however often the value crosses it"


def test_a_milestone_added_twice_with_one_key_is_added_once(api):
    goal = api.create()
    headers = {"Idempotency-Key": "m-1"}
    first = api.post(f"/v1/goals/{goal['id']}/milestones", {"title": "Below 14", "value": 13}, headers=headers)
    again = api.post(f"/v1/goals/{goal['id']}/milestones", {"title": "Below 14", "value": 13}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert len(again.json()["milestones"]) == 1
    other = api.post(f"/v1/goals/{goal['id']}/milestones", {"title": "Below 12", "value": 11}, headers=headers)
    assert other.status_code == 409
    beyond = api.post(f"/v1/goals/{goal['id']}/milestones", {"title": "Lower still", "value": 5})
    assert beyond.status_code == 422 and "value" in beyond.json()["errors"]


def test_a_parent_with_its_own_measure_shows_only_its_own_progress(api, clock):
    parent = api.create()  # PHQ-9 from 16 to 9: a measure of its own
    child = api.create(walking_goal(title="Walk three times a week", parent_goal_id=parent["id"]))
    assert api.post(f"/v1/goals/{child['id']}/status", {"status": "achieved", "reason": "Done"}).status_code == 200

    shown = api.get(f"/v1/goals/{parent['id']}").json()["progress"]
    assert shown["subgoals_percent"] == 100.0
    assert shown["percent"] is None and shown["current"] is None and shown["target_met"] is False


def test_sub_goals_roll_up_into_their_parent(api, clock):
    parent = api.create({"client_id": "client-1", "title": "See friends and family more often",
                         "category": "relationships", "target_date": "2026-06-01"})
    calls = api.create(walking_goal(title="Call my sister twice a week", parent_goal_id=parent["id"],
                                    measure={"kind": "count", "baseline": 0, "target": 2, "per": "week"}))
    clock.advance(minutes=1)
    dinners = api.create(walking_goal(title="Cook dinner for a friend each month", parent_goal_id=parent["id"],
                                      measure={"kind": "count", "baseline": 0, "target": 1, "per": "month"}))
    api.post(f"/v1/goals/{calls['id']}/progress", {"value": 1})

    shown = api.get(f"/v1/goals/{parent['id']}").json()
    assert shown["progress"]["percent"] == 25.0 and shown["progress"]["subgoals_percent"] == 25.0
    assert [s["id"] for s in shown["subgoals"]] == [calls["id"], dinners["id"]]
    api.post(f"/v1/goals/{dinners['id']}/status", {"status": "abandoned", "reason": "Not for now"})
    assert api.get(f"/v1/goals/{parent['id']}").json()["progress"]["percent"] == 50.0
    listed = api.get("/v1/goals", params={"parent_goal_id": parent["id"]}).json()["items"]
    assert [g["id"] for g in listed] == [calls["id"], dinners["id"]]

    loop = api.patch(f"/v1/goals/{parent['id']}", {"parent_goal_id": calls["id"], "reason": "oops"})
    assert loop.status_code == 422 and "parent_goal_id" in loop.json()["errors"]
    elsewhere = api.post("/v1/goals", walking_goal(client_id="client-2", parent_goal_id=parent["id"]))
    assert elsewhere.status_code == 422 and "parent_goal_id" in elsewhere.json()["errors"]
    by_client = api.create(walking_goal(parent_goal_id=parent["id"]), who=("client", "client-1", "clinic-a"))
    assert by_client["therapist_id"] == "therapist-1", "a client's sub-goal keeps its parent's therapist"


def test_a_moved_sub_goal_and_a_handed_over_goal_are_found_where_they_are_now(api, clock):
    first = api.create(walking_goal(title="Sleep by 11pm on weeknights"))
    second = api.create(walking_goal(title="Keep a regular daily routine"))
    clock.advance(minutes=1)
    child = api.create(walking_goal(title="Put the phone away at 10pm", parent_goal_id=first["id"]))
    api.patch(f"/v1/goals/{child['id']}", {"parent_goal_id": second["id"], "reason": "Belongs to the routine"})
    api.patch(f"/v1/goals/{first['id']}", {"therapist_id": "therapist-2", "reason": "Handed over"})

    assert api.get(f"/v1/goals/{first['id']}").json()["subgoals"] == []
    assert [s["id"] for s in api.get(f"/v1/goals/{second['id']}").json()["subgoals"]] == [child["id"]]

    def listed(**query):
        return [goal["id"] for goal in api.get("/v1/goals", params=query).json()["items"]]

    assert listed(parent_goal_id=first["id"]) == [] and listed(parent_goal_id=second["id"]) == [child["id"]]
    assert listed(therapist_id="therapist-2") == [first["id"]]
    assert listed(therapist_id="therapist-1") == [second["id"], child["id"]]


def test_an_open_goal_past_its_target_date_is_overdue(api, clock):
    goal = api.create()
    clock.advance(days=84)  # the target date, 2026-03-30, is today: not overdue yet
    assert api.get(f"/v1/goals/{goal['id']}").json()["overdue"] is False
    clock.advance(days=1)
    assert api.get(f"/v1/goals/{goal['id']}").json()["overdue"] is True
    api.post(f"/v1/goals/{goal['id']}/status", {"status": "achieved"})
    assert api.get(f"/v1/goals/{goal['id']}").json()["overdue"] is False


def test_smart_check_assesses_a_draft_and_stores_nothing(api, db):
    before = counts(db)
    response = api.post("/v1/goals/smart-check", {"title": "Reduce anxiety", "target_date": "2025-12-01"})
    assert response.status_code == 200
    smart = response.json()
    assert smart["specific"]["ok"] is False and smart["realistic"]["ok"] is False
    assert smart["measurable"] == {"ok": False, "reason": "There is no measure yet, so there is no way to see progress."}
    assert smart["suggestions"]
    good = api.post("/v1/goals/smart-check", phq9_goal(), who=("client", "client-1", "clinic-a")).json()
    assert all(good[name]["ok"] for name in ("specific", "measurable", "achievable", "realistic", "time_bound"))
    assert counts(db) == before


def test_goal_attainment_t_score_over_the_latest_ratings(api, db, clock):
    levels = {"-2": "Never leaves the house", "-1": "Walks once a week", "0": "Walks three times a week",
              "1": "Walks most days", "2": "Walks every day"}
    first, second = api.create(walking_goal()), api.create()
    unscaled = api.post(f"/v1/goals/{first['id']}/attainment", {"level": 1})
    assert unscaled.status_code == 409
    for goal in (first, second):
        scaled = api.put(f"/v1/goals/{goal['id']}/attainment-scale", {"levels": levels})
        assert scaled.status_code == 200
        assert scaled.json()["attainment"] == {"scale": {"levels": levels, "weight": 1}, "latest": None}
    api.create(walking_goal(title="Unscaled goal"))

    assert api.post(f"/v1/goals/{first['id']}/attainment", {"level": 1}).status_code == 201
    rated = api.post(f"/v1/goals/{second['id']}/attainment", {"level": 2, "note": "Every day this week"})
    assert rated.json()["attainment"]["latest"]["level"] == 2

    result = api.get("/v1/clients/client-1/attainment").json()
    assert result["t_score"] == 68.61 and result["rho"] == 0.3
    assert sorted(goal["goal_id"] for goal in result["goals"]) == sorted([first["id"], second["id"]])

    clock.advance(days=28)
    api.post(f"/v1/goals/{first['id']}/attainment", {"level": 0})
    own = api.get("/v1/clients/client-1/attainment", who=("client", "client-1", "clinic-a")).json()
    assert own["t_score"] == 62.4, "50 + 10 * 2 / sqrt(2.6): the latest rating counts"
    ratings = api.get(f"/v1/goals/{first['id']}/attainment").json()["items"]
    assert [r["level"] for r in ratings] == [1, 0]
    assert api.get("/v1/clients/client-9/attainment").json() == {"client_id": "client-9", "t_score": None, "rho": 0.3, "goals": []}

    bad_scale = api.put(f"/v1/goals/{first['id']}/attainment-scale", {"levels": {"0": "Expected"}})
    assert bad_scale.status_code == 422 and "levels" in bad_scale.json()["errors"]
    assert api.post(f"/v1/goals/{first['id']}/attainment", {"level": 3}).status_code == 422
    assert counts(db)["rating"] == 3


def test_concurrent_changes_to_one_goal_each_take_their_own_seq(api, db):
    goal = api.create()
    path = f"/v1/goals/{goal['id']}"
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: api.post(f"{path}/status", {"status": "achieved"}).status_code, range(8)))
    assert sorted(answers) == [200] + [409] * 7, "the one that won achieved it; the rest found it achieved"
    assert len(stored_events(db, "goal.achieved")) == 1

    fields = {"description": "Walk after lunch", "category": "behavioral", "title": "PHQ-9 below 10 by walking",
              "target_date": "2026-04-06", "therapist_id": "therapist-2", "measure": {"unit": "points"}}
    with ThreadPoolExecutor(max_workers=len(fields)) as pool:
        answers = list(pool.map(lambda item: api.patch(path, {item[0]: item[1], "reason": f"set {item[0]}"}).status_code,
                                fields.items()))
    assert answers == [200] * len(fields)
    shown = api.get(path).json()
    assert [r["seq"] for r in shown["revisions"]] == list(range(1, len(fields) + 2))
    assert shown["description"] == "Walk after lunch" and shown["therapist_id"] == "therapist-2"
    assert shown["target_date"] == "2026-04-06" and shown["measure"]["unit"] == "points", "no change was lost"
