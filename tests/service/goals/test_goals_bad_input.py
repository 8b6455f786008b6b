"""Bad input: a clear 4xx naming what is wrong, never a 5xx, and nothing stored or changed."""
from __future__ import annotations

import pytest

from tests.support.goals import counts, phq9_goal

pytestmark = pytest.mark.service


@pytest.fixture
def goal(api):
    created = api.create(milestones=[{"title": "Half way", "percent": 50}])
    api.post(f"/v1/goals/{created['id']}/progress", {"value": 14})
    return created


def routes(goal_id: str):
    return [
        ("POST", "/v1/goals"),
        ("PATCH", f"/v1/goals/{goal_id}"),
        ("POST", f"/v1/goals/{goal_id}/progress"),
        ("POST", f"/v1/goals/{goal_id}/status"),
        ("POST", f"/v1/goals/{goal_id}/milestones"),
        ("PUT", f"/v1/goals/{goal_id}/attainment-scale"),
        ("POST", f"/v1/goals/{goal_id}/attainment"),
        ("POST", "/v1/goals/smart-check"),
    ]


def unchanged(api, db, goal, before_counts, before_goal):
    assert counts(db) == before_counts
    assert api.get(f"/v1/goals/{goal['id']}").json == before_goal


def test_malformed_json_is_400_everywhere(api, db, goal):
    before, shown = counts(db), api.get(f"/v1/goals/{goal['id']}").json
    for method, path in routes(goal["id"]):
        response = api.call(method, path, b'{"title": "unterminated')
        assert response.status_code == 400, (method, path, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
    unchanged(api, db, goal, before, shown)


def test_a_body_that_is_not_json_is_415(api, db, goal):
    before, shown = counts(db), api.get(f"/v1/goals/{goal['id']}").json
    for method, path in routes(goal["id"]):
        response = api.call(method, path, "value=3", headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 415, (method, path)
    plain = api.call("POST", "/v1/goals", "title", headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415
    unchanged(api, db, goal, before, shown)


def test_a_body_over_the_limit_is_413(api, db, goal):
    before, shown = counts(db), api.get(f"/v1/goals/{goal['id']}").json
    huge = phq9_goal(description="x" * (2 * 1024 * 1024))
    for method, path in routes(goal["id"]):
        assert api.call(method, path, huge).status_code == 413, (method, path)
    unchanged(api, db, goal, before, shown)


@pytest.mark.parametrize("body, field", [
    (phq9_goal(title=5), "title"),
    (phq9_goal(title="   "), "title"),
    (phq9_goal(category="spiritual"), "category"),
    (phq9_goal(target_date="30/03/2026"), "target_date"),
    (phq9_goal(target_date="2026-03-30T00:00:00Z"), "target_date"),
    (phq9_goal(measure={"kind": "instrument", "instrument": "phq9", "baseline": "16", "target": 9}), "measure.baseline"),
    (phq9_goal(measure={"kind": "steps", "baseline": 1, "target": 2}), "measure.kind"),
    (phq9_goal(measure={"kind": "count", "baseline": 1, "target": True}), "measure.target"),
    (phq9_goal(measure={"kind": "instrument", "instrument": "phq9", "baseline": 16, "target": 30}), "measure.target"),
    (phq9_goal(measure={"kind": "instrument", "baseline": 16, "target": 9}), "measure.instrument"),
    (phq9_goal(measure={"kind": "count", "baseline": 3, "target": 9, "direction": "decrease"}), "measure.direction"),
    (phq9_goal(start_date="2026-04-01"), "target_date"),
    (phq9_goal(milestones=[{"title": "Too far", "value": 5}]), "milestones.0.value"),
    (phq9_goal(milestones="soon"), "milestones"),
    (phq9_goal(colour="blue"), "colour"),
    (phq9_goal(title="Walk \ud800 daily"), "title"),
    (phq9_goal(measure={"kind": "count", "baseline": 0, "target": 10 ** 30}), "measure.target"),
    (["not", "an", "object"], "_schema"),
])
def test_invalid_goals_are_422_naming_the_field(api, db, goal, body, field):
    before = counts(db)
    response = api.post("/v1/goals", body)
    assert response.status_code == 422, response.text
    problem = response.json
    assert problem["status"] == 422 and field in problem["errors"], problem
    assert field in problem["detail"]
    assert counts(db) == before


@pytest.mark.parametrize("path_tail, method, body, field", [
    ("", "PATCH", {"title": "New"}, "reason"),
    ("", "PATCH", {"client_id": "client-2", "reason": "move"}, "client_id"),
    ("", "PATCH", {"status": "achieved", "reason": "done"}, "status"),
    ("", "PATCH", {"measure": {"target": 40}, "reason": "typo"}, "measure.target"),
    ("", "PATCH", {"measure": {"baseline": "high"}, "reason": "typo"}, "measure.baseline"),
    ("", "PATCH", {"measure": None, "reason": "no measure"}, "measure"),
    ("", "PATCH", {"target_date": "2025-12-01", "reason": "earlier"}, "target_date"),
    ("", "PATCH", {"parent_goal_id": "nope", "reason": "nest"}, "parent_goal_id"),
    ("/progress", "POST", {"value": "14"}, "value"),
    ("/progress", "POST", {"value": 2 ** 64}, "value"),
    ("/progress", "POST", {"value": 12, "note": "\udfff"}, "note"),
    ("/progress", "POST", {"value": 28}, "value"),
    ("/progress", "POST", {}, "value"),
    ("/progress", "POST", {"value": 12, "recorded_at": "2026-01-05T09:00:00"}, "recorded_at"),
    ("/progress", "POST", {"value": 12, "recorded_at": "2027-01-01T00:00:00Z"}, "recorded_at"),
    ("/progress", "POST", {"value": 12, "mood": "fine"}, "mood"),
    ("/status", "POST", {"status": "done"}, "status"),
    ("/status", "POST", {"status": ["active"]}, "status"),
    ("/milestones", "POST", {"title": "Both", "value": 12, "percent": 50}, "value"),
    ("/milestones", "POST", {"title": "Over", "percent": 150}, "percent"),
    ("/milestones", "POST", {"value": 12}, "title"),
    ("/attainment-scale", "PUT", {"levels": {"-2": "a", "-1": "b", "0": "c", "1": "d", "2": "e"}, "weight": 0}, "weight"),
    ("/attainment-scale", "PUT", {"levels": {"-2": "a", "-1": "b", "0": "c", "1": "d", "3": "e"}}, "levels"),
    ("/attainment-scale", "PUT", {"levels": ["a"]}, "levels"),
    ("/attainment-scale", "PUT", {"levels": {"-2": "a", "-1": "b", "0": "c", "1": "d", "2": "\ud83d"}}, "levels.2"),
    ("/attainment", "POST", {"level": "1"}, "level"),
    ("/attainment", "POST", {"level": 1.5}, "level"),
])
def test_invalid_changes_are_422_naming_the_field_and_change_nothing(api, db, goal, path_tail, method, body, field):
    before, shown = counts(db), api.get(f"/v1/goals/{goal['id']}").json
    response = api.call(method, f"/v1/goals/{goal['id']}{path_tail}", body)
    assert response.status_code == 422, response.text
    assert field in response.json["errors"], response.json
    unchanged(api, db, goal, before, shown)


@pytest.mark.parametrize("query, field", [
    ({"limit": 0}, "limit"), ({"limit": "many"}, "limit"), ({"status": "finished"}, "status"), ({"cursor": "%%%"}, "cursor"),
])
def test_bad_list_queries_are_422(api, goal, query, field):
    response = api.get("/v1/goals", params=query)
    assert response.status_code == 422 and field in response.json["errors"]


def test_unknown_goals_and_routes_are_404(api):
    assert api.get("/v1/goals/no-such-goal").status_code == 404
    assert api.post("/v1/goals/no-such-goal/progress", {"value": 3}).status_code == 404
    assert api.get("/v1/goals/no-such-goal/revisions").status_code == 404
    assert api.get("/v1/nothing-here").status_code == 404
    assert api.call("DELETE", "/v1/goals").status_code == 405
