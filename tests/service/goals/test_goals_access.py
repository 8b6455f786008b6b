"""Who may see and change which goals: tenant and client scope, roles, tokens."""
from __future__ import annotations

import pytest

from tests.support.caller import CLIENT
from tests.support.goals import counts, phq9_goal, walking_goal

pytestmark = pytest.mark.service

OTHER_CLIENT = ("client", "client-2", "clinic-a")
OTHER_CLINIC = ("therapist", "therapist-9", "clinic-b")
ADMIN = ("admin", "admin-1", "clinic-a")
SERVICE = ("service", "clinic-platform", "clinic-a")


def test_a_client_creates_reads_and_logs_progress_on_its_own_goals(api):
    goal = api.create(walking_goal(), who=CLIENT)
    assert goal["client_id"] == "client-1" and goal["therapist_id"] is None and goal["created_by"] == "client-1"
    implicit = api.post("/v1/goals", {k: v for k, v in walking_goal().items() if k != "client_id"}, who=CLIENT)
    assert implicit.status_code == 201 and implicit.json["client_id"] == "client-1"

    assert api.get(f"/v1/goals/{goal['id']}", who=CLIENT).status_code == 200
    logged = api.post(f"/v1/goals/{goal['id']}/progress", {"value": 2}, who=CLIENT)
    assert logged.status_code == 201
    [entry] = api.get(f"/v1/goals/{goal['id']}/progress", who=CLIENT).json["items"]
    assert entry["source"] == "client" and entry["by"] == "client-1"
    listed = api.get("/v1/goals", who=CLIENT).json["items"]
    assert {g["client_id"] for g in listed} == {"client-1"}


def test_a_client_cannot_see_or_change_another_clients_goal(api, db):
    theirs = api.create(phq9_goal(client_id="client-2"))
    before = counts(db)
    assert api.get(f"/v1/goals/{theirs['id']}", who=CLIENT).status_code == 404
    assert api.get(f"/v1/goals/{theirs['id']}/progress", who=CLIENT).status_code == 404
    assert api.get(f"/v1/goals/{theirs['id']}/revisions", who=CLIENT).status_code == 404
    assert api.post(f"/v1/goals/{theirs['id']}/progress", {"value": 12}, who=CLIENT).status_code == 404
    assert api.get("/v1/goals", params={"client_id": "client-2"}, who=CLIENT).status_code == 403
    assert api.get("/v1/goals", who=CLIENT).json["items"] == []
    assert api.post("/v1/goals", phq9_goal(client_id="client-2"), who=CLIENT).status_code == 403
    assert api.get("/v1/clients/client-2/attainment", who=CLIENT).status_code == 403
    assert counts(db) == before


def test_a_client_may_not_revise_change_status_or_scale_goals(api, db):
    own = api.create(phq9_goal())
    before = counts(db)
    for method, path, body in (
        ("PATCH", f"/v1/goals/{own['id']}", {"title": "Mine now", "reason": "because"}),
        ("POST", f"/v1/goals/{own['id']}/status", {"status": "achieved"}),
        ("POST", f"/v1/goals/{own['id']}/milestones", {"title": "Half", "percent": 50}),
        ("PUT", f"/v1/goals/{own['id']}/attainment-scale", {"levels": {"0": "x"}}),
        ("POST", f"/v1/goals/{own['id']}/attainment", {"level": 1}),
    ):
        response = api.call(method, path, body, who=CLIENT)
        assert response.status_code == 403, (method, path)
        assert response.headers["Content-Type"] == "application/problem+json"
    refused = api.post("/v1/goals", walking_goal(therapist_id="therapist-7"), who=CLIENT)
    assert refused.status_code == 403
    assert counts(db) == before


def test_another_clinics_goal_does_not_exist_for_us(api, db):
    ours = api.create(phq9_goal())
    theirs = api.create(phq9_goal(), who=OTHER_CLINIC)
    before = counts(db)
    assert api.get(f"/v1/goals/{theirs['id']}").status_code == 404
    assert api.patch(f"/v1/goals/{theirs['id']}", {"title": "x", "reason": "y"}).status_code == 404
    assert api.post(f"/v1/goals/{theirs['id']}/status", {"status": "abandoned"}).status_code == 404
    assert api.post(f"/v1/goals/{theirs['id']}/progress", {"value": 10}).status_code == 404
    assert [g["id"] for g in api.get("/v1/goals").json["items"]] == [ours["id"]]
    assert api.get(f"/v1/goals/{ours['id']}", who=OTHER_CLINIC).status_code == 404
    assert api.post("/v1/goals", walking_goal(parent_goal_id=theirs["id"])).status_code == 422
    assert counts(db) == before


def test_staff_of_the_clinic_act_on_any_client(api):
    goal = api.create(walking_goal(client_id="client-5"), who=ADMIN)
    assert goal["therapist_id"] is None, "only a therapist creating a goal becomes its therapist"
    assert api.post(f"/v1/goals/{goal['id']}/progress", {"value": 3}, who=SERVICE).status_code == 201
    assert api.post(f"/v1/goals/{goal['id']}/status", {"status": "on_hold"}, who=ADMIN).status_code == 200
    assert api.get("/v1/goals", params={"client_id": "client-5"}).json["items"][0]["status"] == "on_hold"
    no_client = api.post("/v1/goals", {k: v for k, v in walking_goal().items() if k != "client_id"})
    assert no_client.status_code == 422 and "client_id" in no_client.json["errors"]


def test_tokens_are_checked_before_anything_else(api, token, db):
    goal = api.create()
    before = counts(db)
    missing = api.get(f"/v1/goals/{goal['id']}", who=None)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.headers["Content-Type"] == "application/problem+json"
    expired = {"Authorization": f"Bearer {token('therapist', 'therapist-1', 'clinic-a', ttl=-60)}"}
    assert api.get(f"/v1/goals/{goal['id']}", who=None, headers=expired).status_code == 401
    forged = {"Authorization": "Bearer " + token("therapist", "therapist-1", "clinic-a")[:-4] + "abcd"}
    assert api.get("/v1/goals", who=None, headers=forged).status_code == 401
    assert api.post("/v1/goals", phq9_goal(), who=None).status_code == 401
    # The body's shape is checked before the token (shared.guards): malformed is 400 either way.
    assert api.post("/v1/goals", b"{not json", who=None).status_code == 400
    assert api.post(f"/v1/goals/{goal['id']}/progress", {"value": 3}, who=None, headers=expired).status_code == 401
    assert counts(db) == before
