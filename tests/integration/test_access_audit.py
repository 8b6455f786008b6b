"""The access audit (shared.audit) against the real servers, over real HTTP.

Every route a service lists as reading or changing a client's records is called once, and each
call must leave exactly one audit record with the right fields and nothing else (no body, answer,
score or note). The lists are the services' own (``AUDITED``), so a route added to them without a
step here fails the test. Then: who may read the audit, its filters and its paging.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pymongo
import pytest

from services.goals import config as goals_config
from services.goals.api import AUDITED as GOALS_AUDITED
from services.goals.app import create_app as goals_app
from services.notifications import config as notifications_config
from services.notifications.api import AUDITED as NOTIFICATIONS_AUDITED
from services.notifications.app import create_app as notifications_app
from services.notifications.handlers import RulesConsumer
from services.questionnaires import config as questionnaires_config
from services.questionnaires.api import AUDITED as QUESTIONNAIRES_AUDITED
from services.questionnaires.app import create_app as questionnaires_app
from shared import audit
from shared.clock import FixedClock
from shared.mongo import Database
from tests.support.caller import THERAPIST, Caller
from tests.support.notifications import risk_flagged

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
CLIENT = "client-1"
ADMIN = ("admin", "admin-1", "clinic-a")
# Free text a caller sends with a change: it must never reach an audit record.
NOTE = "Slept badly after the funeral"
RECORD_FIELDS = {
    "_id", "tenant", "actor", "role", "client_id", "action", "route", "path", "status", "request_id", "at",
    audit.BY_TENANT.field,
}


def walk_goal(client_id: str = CLIENT, title: str = "Walk after lunch") -> dict:
    return {
        "client_id": client_id, "title": title, "category": "behavioral",
        "measure": {"kind": "count", "unit": "walks", "baseline": 0, "target": 10, "per": "week"},
        "start_date": "2026-01-05", "target_date": "2026-03-16",
    }


class Session:
    """One service over real HTTP; every call carries a fresh X-Request-ID and is remembered."""

    def __init__(self, harness, auth, service: str, config, create_app):
        self.settings = harness.settings(service, config.OPTIONS)
        self.clock = FixedClock(START)
        self.database = Database(self.settings.mongo_url, self.settings.database, config.INDEXES)
        self.api = Caller.over_http(harness.serve(create_app(settings=self.settings, clock=self.clock)), auth)
        self.calls: list[dict] = []

    def call(self, route: str, path: str, body=None, who=THERAPIST, **params) -> Any:  # the JSON answer
        method = route.split(" ", 1)[0]
        request_id = uuid.uuid4().hex
        answer = self.api.call(method, path, body, who=who, headers={"X-Request-ID": request_id}, params=params)
        assert answer.status_code < 400, f"{route}: {answer.status_code} {answer.text}"
        # A client's records are health data: never kept by a browser or a proxy (issue 10).
        assert answer.headers["Cache-Control"] == "no-store", route
        self.calls.append({"route": route, "path": path, "who": who, "request_id": request_id,
                           "status": answer.status_code, "at": self.clock.now()})
        return answer.json()

    def audit_records(self) -> list[dict]:
        return list(self.database[audit.COLLECTION].find())


def goals_steps(session: Session) -> None:
    goal = session.call("POST /v1/goals", "/v1/goals", walk_goal())
    one = f"/v1/goals/{goal['id']}"
    session.call("GET /v1/goals", "/v1/goals", client_id=CLIENT)
    session.call("GET /v1/goals/<goal_id>", one)
    session.call("PATCH /v1/goals/<goal_id>", one, {"title": "Walk after lunch and dinner", "reason": NOTE})
    session.call("POST /v1/goals/<goal_id>/progress", f"{one}/progress", {"value": 3, "note": NOTE})
    session.call("GET /v1/goals/<goal_id>/progress", f"{one}/progress")
    session.call("GET /v1/goals/<goal_id>/revisions", f"{one}/revisions")
    session.call("POST /v1/goals/<goal_id>/milestones", f"{one}/milestones", {"title": "Halfway", "value": 5})
    session.call("PUT /v1/goals/<goal_id>/attainment-scale", f"{one}/attainment-scale",
                 {"levels": {"-2": "none", "-1": "one", "0": "three", "1": "five", "2": "seven"}})
    session.call("POST /v1/goals/<goal_id>/attainment", f"{one}/attainment", {"level": 1})
    session.call("GET /v1/goals/<goal_id>/attainment", f"{one}/attainment")
    session.call("GET /v1/clients/<client_id>/attainment", f"/v1/clients/{CLIENT}/attainment")
    session.call("GET /fhir/R4/Goal", "/fhir/R4/Goal", patient=CLIENT)
    session.call("GET /fhir/R4/Goal/<goal_id>", f"/fhir/R4/Goal/{goal['id']}")
    session.call("POST /v1/goals/<goal_id>/status", f"{one}/status", {"status": "on_hold", "reason": NOTE})
    session.call("GET /v1/clients/<client_id>/export", f"/v1/clients/{CLIENT}/export")
    session.call("POST /v1/clients/<client_id>/erasure", f"/v1/clients/{CLIENT}/erasure", {}, who=ADMIN)


def questionnaires_steps(session: Session) -> None:
    assignment = session.call("POST /v1/assignments", "/v1/assignments",
                              {"client_id": CLIENT, "instrument": "phq9", "every_days": 14})
    session.call("GET /v1/assignments", "/v1/assignments", client_id=CLIENT)
    session.call("GET /v1/assignments/<assignment_id>", f"/v1/assignments/{assignment['id']}")
    response = session.call("POST /v1/responses", "/v1/responses",
                            {"client_id": CLIENT, "instrument": "phq9", "answers": [2, 2, 2, 1, 1, 1, 1, 1, 1]})
    session.call("GET /v1/responses", "/v1/responses", client_id=CLIENT)
    session.call("GET /v1/responses/<response_id>", f"/v1/responses/{response['id']}")
    session.call("GET /v1/clients/<client_id>/scores", f"/v1/clients/{CLIENT}/scores")
    session.call("GET /v1/clients/<client_id>/recovery", f"/v1/clients/{CLIENT}/recovery")
    session.call("GET /v1/outcomes", "/v1/outcomes")  # the caller's clients: the one client here
    for resource in ("QuestionnaireResponse", "Observation"):
        session.call(f"GET /fhir/R4/{resource}", f"/fhir/R4/{resource}", patient=CLIENT)
        session.call(f"GET /fhir/R4/{resource}/<response_id>", f"/fhir/R4/{resource}/{response['id']}")
    session.call("POST /v1/assignments/<assignment_id>/cancel", f"/v1/assignments/{assignment['id']}/cancel")
    session.call("GET /v1/clients/<client_id>/export", f"/v1/clients/{CLIENT}/export")
    session.call("POST /v1/clients/<client_id>/erasure", f"/v1/clients/{CLIENT}/erasure", {}, who=ADMIN)


def notifications_steps(session: Session) -> None:
    # Not a client's records: not audited.
    roster = session.api.put("/v1/tenant/clinicians", {"clinician_ids": ["therapist-1"]}, who=ADMIN)
    assert roster.status_code == 200, roster.text
    session.call("PUT /v1/care-teams/<client_id>", f"/v1/care-teams/{CLIENT}", {"therapist_ids": ["therapist-1"]},
                 who=ADMIN)
    session.call("GET /v1/care-teams/<client_id>", f"/v1/care-teams/{CLIENT}")
    # The worker's rules consumer turns a risk flag into an alert and the care team's notification.
    RulesConsumer(session.database, session.clock, timedelta(minutes=30))(risk_flagged(client_id=CLIENT))
    [alert] = session.call("GET /v1/alerts", "/v1/alerts")["items"]
    session.call("GET /v1/alerts/<alert_id>", f"/v1/alerts/{alert['id']}")
    session.call("POST /v1/alerts/<alert_id>/acknowledge", f"/v1/alerts/{alert['id']}/acknowledge", {"note": NOTE})
    [notification] = session.call("GET /v1/notifications", "/v1/notifications")["items"]
    session.call("GET /v1/notifications/<notification_id>", f"/v1/notifications/{notification['id']}")
    session.call("POST /v1/notifications/<notification_id>/read", f"/v1/notifications/{notification['id']}/read")
    session.call("GET /v1/clients/<client_id>/export", f"/v1/clients/{CLIENT}/export")
    session.call("POST /v1/clients/<client_id>/erasure", f"/v1/clients/{CLIENT}/erasure", {}, who=ADMIN)


SERVICES = {
    "goals": (goals_config, goals_app, GOALS_AUDITED, goals_steps),
    "questionnaires": (questionnaires_config, questionnaires_app, QUESTIONNAIRES_AUDITED, questionnaires_steps),
    "notifications": (notifications_config, notifications_app, NOTIFICATIONS_AUDITED, notifications_steps),
}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_read_and_change_of_a_clients_records_leaves_one_record(harness, auth, service):
    config, create_app, audited, steps = SERVICES[service]
    session = Session(harness, auth, service, config, create_app)
    steps(session)

    assert {call["route"] for call in session.calls} == {*audited.reads, *audited.changes}, "a step per audited route"
    records = session.audit_records()
    for call in session.calls:
        role, actor, tenant = call["who"]
        mine = [record for record in records if record["request_id"] == call["request_id"]]
        assert len(mine) == 1, f"{call['route']}: {len(mine)} audit records"
        [record] = mine
        assert set(record) == RECORD_FIELDS, f"{call['route']}: {sorted(set(record) ^ RECORD_FIELDS)}"
        assert {name: record[name] for name in ("tenant", "actor", "role", "client_id", "action", "route", "path", "status")} == {
            "tenant": tenant, "actor": actor, "role": role, "client_id": CLIENT, "action": audited.action(call["route"]),
            "route": call["route"], "path": call["path"], "status": call["status"],
        }
        assert record["at"] == call["at"]
    assert len(records) == len(session.calls), "no record without its request"
    assert NOTE not in repr(records)


def test_other_routes_and_refused_requests_leave_no_record(harness, auth):
    session = Session(harness, auth, "questionnaires", questionnaires_config, questionnaires_app)
    session.call("GET /v1/instruments", "/v1/instruments")
    session.call("GET /v1/instruments/<code>", "/v1/instruments/phq9")
    refused = session.api.get("/v1/clients/client-2/scores", who=("client", CLIENT, "clinic-a"))
    assert refused.status_code == 403
    assert session.audit_records() == []


def test_only_a_tenants_admins_read_its_audit(harness, auth):
    session = Session(harness, auth, "goals", goals_config, goals_app)
    goals_steps(session)
    for who in (("client", CLIENT, "clinic-a"), THERAPIST, ("service", "svc-1", "clinic-a")):
        answer = session.api.get("/v1/audit", who=who)
        assert answer.status_code == 403 and answer.headers["Content-Type"] == "application/problem+json", who
    for query in ({}, {"client_id": CLIENT}, {"actor": "therapist-1"}):
        elsewhere = session.api.get("/v1/audit", params=query, who=("admin", "admin-9", "clinic-b"))
        assert elsewhere.status_code == 200 and elsewhere.json() == {"items": [], "next_cursor": None}
    seen = session.api.get("/v1/audit", params={"limit": 200}, who=ADMIN)
    assert seen.status_code == 200 and seen.headers["Cache-Control"] == "no-store"
    assert {item["request_id"] for item in seen.json()["items"]} == {call["request_id"] for call in session.calls}


def every_page(session: Session, **query) -> list[dict]:
    items, cursor = [], None
    while True:
        page = session.api.get("/v1/audit", who=ADMIN,
                               params={**query, "limit": 3, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def test_the_audit_filters_by_client_actor_and_time_and_pages_newest_first(harness, auth):
    session = Session(harness, auth, "goals", goals_config, goals_app)
    therapists = [("therapist", "therapist-1", "clinic-a"), ("therapist", "therapist-2", "clinic-a")]
    goals = {}
    for day in range(4):
        for number, who in enumerate(therapists):
            client_id = f"client-{(day + number) % 3 + 1}"
            if client_id not in goals:
                goals[client_id] = session.call("POST /v1/goals", "/v1/goals", walk_goal(client_id), who=who)
            else:
                session.call("GET /v1/goals/<goal_id>", f"/v1/goals/{goals[client_id]['id']}", who=who)
            session.clock.advance(hours=7)
        session.clock.advance(hours=10)

    stored = sorted(session.audit_records(), key=lambda record: (record["at"], record["_id"]), reverse=True)
    assert len(stored) == len(session.calls) == 8
    since, until = START + timedelta(days=1), START + timedelta(days=3)
    cases = [
        ({}, lambda r: True),
        ({"client_id": "client-2"}, lambda r: r["client_id"] == "client-2"),
        ({"actor": "therapist-2"}, lambda r: r["actor"] == "therapist-2"),
        ({"client_id": "client-1", "actor": "therapist-1"}, lambda r: (r["client_id"], r["actor"]) == ("client-1", "therapist-1")),
        ({"since": since.isoformat(), "until": until.isoformat()}, lambda r: since <= r["at"] < until),
        ({"actor": "therapist-1", "since": since.isoformat()}, lambda r: r["actor"] == "therapist-1" and r["at"] >= since),
    ]
    for query, keep in cases:
        expected = [record["_id"] for record in stored if keep(record)]
        assert expected, query
        assert [item["id"] for item in every_page(session, **query)] == expected, query

    bad = session.api.get("/v1/audit", params={"since": until.isoformat(), "until": since.isoformat()}, who=ADMIN)
    assert bad.status_code == 422 and "until" in bad.json()["errors"]


def test_an_answer_is_withheld_when_its_audit_record_cannot_be_written(harness, auth):
    session = Session(harness, auth, "goals", goals_config, goals_app)
    goal = session.call("POST /v1/goals", "/v1/goals", walk_goal(title=NOTE))
    # The database refuses this request's audit record: a unique request id, already taken.
    blocked = uuid.uuid4().hex
    records = session.database[audit.COLLECTION]
    records.create_index([("request_id", pymongo.ASCENDING)], unique=True)
    records.insert_one({"_id": "blocker", "request_id": blocked})

    answer = session.api.get(f"/v1/goals/{goal['id']}", headers={"X-Request-ID": blocked})
    assert answer.status_code == 503 and answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["Retry-After"] and answer.headers["X-Request-ID"] == blocked
    assert NOTE not in answer.text and goal["id"] not in answer.text
    assert records.count_documents({"request_id": blocked}) == 1, "only the blocker"

    records.delete_one({"_id": "blocker"})
    again = session.api.get(f"/v1/goals/{goal['id']}", headers={"X-Request-ID": blocked})
    assert again.status_code == 200 and again.json()["title"] == NOTE
    assert records.count_documents({"request_id": blocked}) == 1
