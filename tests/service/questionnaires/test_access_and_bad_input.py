"""Who may see and do what, and bad input: each refused request answers a problem and changes
nothing stored."""
from __future__ import annotations

import pytest

from tests.support.questionnaires import gad7, phq9

pytestmark = pytest.mark.service

PROBLEM = "application/problem+json"


@pytest.fixture
def stored(service):
    """A response and an assignment of client-1 in clinic-a, made by its therapist."""
    response = service.submit("client-1", "phq9", phq9(12))
    assignment = service.post("/v1/assignments", {"client_id": "client-1", "instrument": "gad7", "every_days": 7})
    assert assignment.status_code == 201
    return {"response": response, "assignment": assignment.json}


def refused(service, status: int, method: str, path: str, **kwargs) -> dict:
    """Make the call, check it answers ``status`` as a problem, and that nothing changed."""
    before = service.snapshot()
    answer = service.call(method, path, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert service.snapshot() == before
    return answer.json


def test_a_client_reads_its_own_records(service, stored):
    as_client = {"role": "client", "sub": "client-1"}
    assert service.get(f"/v1/responses/{stored['response']['id']}", **as_client).status_code == 200
    assert service.get(f"/v1/assignments/{stored['assignment']['id']}", **as_client).status_code == 200
    own = service.get("/v1/responses", **as_client).json["items"]
    assert [item["id"] for item in own] == [stored["response"]["id"]]
    assert service.get("/v1/clients/client-1/scores", **as_client).status_code == 200


def test_another_clients_records_are_not_found(service, stored):
    other = {"role": "client", "sub": "client-2"}
    refused(service, 404, "GET", f"/v1/responses/{stored['response']['id']}", **other)
    refused(service, 404, "GET", f"/v1/assignments/{stored['assignment']['id']}", **other)
    assert service.get("/v1/responses", **other).json == {"items": [], "next_cursor": None}
    assert service.get("/v1/assignments", **other).json == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("role", ["client", "service"])
def test_only_clinical_staff_may_mark_a_baseline(service, stored, role):
    # client-1's baseline is its first PHQ-9 (12). A client resetting it to a better day would hide
    # a later deterioration from its therapist.
    body = {"client_id": "client-1", "instrument": "phq9", "answers": phq9(4), "baseline": True}
    problem = refused(service, 403, "POST", "/v1/responses", json=body, role=role, sub="client-1")
    assert list(problem["errors"]) == ["baseline"]
    worse = service.submit("client-1", "phq9", phq9(20), role="client", sub="client-1")
    assert worse["change"]["baseline_total"] == 12
    assert worse["change"]["reliable_change"] == "deteriorated"


@pytest.mark.parametrize("role", ["therapist", "admin"])
def test_a_therapist_or_an_admin_marks_a_baseline(service, stored, role):
    marked = service.submit("client-1", "phq9", phq9(18), baseline=True, role=role, sub=f"{role}-1")
    assert marked["baseline"] is True
    assert service.submit("client-1", "phq9", phq9(10))["change"]["baseline_total"] == 18


def test_a_client_naming_another_client_is_forbidden(service, stored):
    other = {"role": "client", "sub": "client-2"}
    refused(service, 403, "GET", "/v1/responses", params={"client_id": "client-1"}, **other)
    refused(service, 403, "GET", "/v1/clients/client-1/scores", **other)
    refused(service, 403, "GET", "/v1/clients/client-1/recovery", **other)
    refused(service, 403, "POST", "/v1/responses", json={"client_id": "client-1", "instrument": "gad7", "answers": gad7(3)},
            **other)
    refused(service, 403, "POST", "/v1/assignments", json={"client_id": "client-1", "instrument": "gad7"}, **other)


def test_a_client_may_not_submit_against_another_clients_assignment(service, stored):
    body = {"instrument": "gad7", "answers": gad7(3), "assignment_id": stored["assignment"]["id"]}
    problem = refused(service, 422, "POST", "/v1/responses", json=body, role="client", sub="client-2")
    assert "assignment_id" in problem["errors"]


def test_a_client_may_not_cancel_its_therapists_assignment(service, stored):
    refused(service, 403, "POST", f"/v1/assignments/{stored['assignment']['id']}/cancel", json={},
            role="client", sub="client-1")


def test_another_tenant_sees_nothing(service, stored):
    elsewhere = {"tenant": "clinic-b"}
    refused(service, 404, "GET", f"/v1/responses/{stored['response']['id']}", **elsewhere)
    refused(service, 404, "GET", f"/v1/assignments/{stored['assignment']['id']}", **elsewhere)
    refused(service, 404, "POST", f"/v1/assignments/{stored['assignment']['id']}/cancel", json={}, **elsewhere)
    assert service.get("/v1/responses", params={"client_id": "client-1"}, **elsewhere).json["items"] == []
    assert service.get("/v1/clients/client-1/scores", **elsewhere).json["series"] == []
    # Its own first response for the same client id starts its own series.
    fresh = service.submit("client-1", "phq9", phq9(5), **elsewhere)
    assert fresh["seq"] == 1 and fresh["change"]["previous_total"] is None


def test_no_token_or_a_bad_one_is_401(service, token, stored):
    before = service.snapshot()
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"},
                    {"Authorization": f"Bearer {token('therapist', 'therapist-1', 'clinic-a', ttl=-60)}"}):
        for method, path, body in (("GET", f"/v1/responses/{stored['response']['id']}", None),
                                   ("POST", "/v1/responses", {"client_id": "client-1", "instrument": "gad7", "answers": gad7(3)}),
                                   ("GET", "/v1/instruments", None)):
            answer = service.api.call(method, path, body, who=None, headers=headers)
            assert answer.status_code == 401, (headers, path, answer.text)
            assert answer.headers["Content-Type"] == PROBLEM
            assert "WWW-Authenticate" in answer.headers
    assert service.snapshot() == before


def test_only_an_admin_adds_an_instrument(service, stored):
    definition = service.get("/v1/instruments/gad2").json
    definition = {key: value for key, value in definition.items() if key not in ("builtin", "created_at", "created_by")}
    definition["code"] = "clinic-gad2"
    for role in ("client", "therapist", "service"):
        refused(service, 403, "POST", "/v1/instruments", json=definition, role=role)


def test_malformed_json_is_400(service, stored):
    problem = refused(service, 400, "POST", "/v1/responses", data=b'{"client_id": "client-1", "answers": [1,',
                      headers={"Content-Type": "application/json"})
    assert problem["status"] == 400


def test_an_answer_out_of_range_is_422_naming_the_item(service, stored):
    body = {"client_id": "client-1", "instrument": "phq9", "answers": [0, 0, 0, 0, 0, 0, 0, 0, 4]}
    problem = refused(service, 422, "POST", "/v1/responses", json=body)
    assert problem["errors"] == {"answers.9": ["must be between 0 and 3"]}


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ([1, 1, 1], "answers"),  # wrong count
        ({"1": 1, "2": 1, "3": 1, "4": 1, "5": 1, "6": 1, "7": 1, "99": 1}, "answers.99"),  # unknown item
        ([1, 1, "two", 1, 1, 1, 1], "answers.3"),  # wrong type
        ([1, 1, 1.5, 1, 1, 1, 1], "answers.3"),  # not a whole number
        ([1, 1, True, 1, 1, 1, 1], "answers.3"),  # a boolean is not an answer
        ([1, 1, None, 1, 1, 1, 1], "answers.3"),  # GAD-7 refuses missing answers
        ("1111111", "answers"),  # neither a list nor an object
    ],
)
def test_wrong_answers_are_422_naming_what_is_wrong(service, stored, answers, field):
    problem = refused(service, 422, "POST", "/v1/responses",
                      json={"client_id": "client-1", "instrument": "gad7", "answers": answers})
    assert field in problem["errors"], problem


def test_unknown_fields_and_unknown_instruments_are_422(service, stored):
    problem = refused(service, 422, "POST", "/v1/responses",
                      json={"client_id": "client-1", "instrument": "gad7", "answers": gad7(3), "mood": "fine"})
    assert "mood" in problem["errors"]
    problem = refused(service, 422, "POST", "/v1/responses", json={"client_id": "client-1", "instrument": "bdi", "answers": []})
    assert "instrument" in problem["errors"]
    problem = refused(service, 422, "POST", "/v1/assignments",
                      json={"client_id": "client-1", "instrument": "gad7", "every_days": 0})
    assert "every_days" in problem["errors"]
    problem = refused(service, 422, "POST", "/v1/assignments",
                      json={"client_id": "client-1", "instrument": "gad7", "ends_at": "2025-01-01T00:00:00Z"})
    assert "ends_at" in problem["errors"]


def test_staff_must_name_the_client_and_times_need_an_offset(service, stored):
    problem = refused(service, 422, "POST", "/v1/responses", json={"instrument": "gad7", "answers": gad7(3)})
    assert "client_id" in problem["errors"]
    problem = refused(service, 422, "POST", "/v1/responses", json={"client_id": "client-1", "instrument": "gad7",
                                                                   "answers": gad7(3), "completed_at": "2026-01-05T08:00:00"})
    assert "completed_at" in problem["errors"]
    problem = refused(service, 422, "POST", "/v1/responses", json={"client_id": "client-1", "instrument": "gad7",
                                                                   "answers": gad7(3), "completed_at": "2027-01-01T00:00:00Z"})
    assert "completed_at" in problem["errors"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/responses", {"completed_at": "0001-01-01T00:00:00+14:00"}, "completed_at"),
        ("/v1/responses", {"completed_at": "1801-01-01T00:00:00Z"}, "completed_at"),
        ("/v1/assignments", {"starts_at": "9999-12-30T00:00:00Z", "every_days": 7}, "starts_at"),
        ("/v1/assignments", {"ends_at": "9999-12-31T23:59:59-14:00"}, "ends_at"),
    ],
)
def test_times_out_of_reach_are_422(service, stored, path, body, field):
    base = {"client_id": "client-1", "instrument": "gad7"}
    if path == "/v1/responses":
        base["answers"] = gad7(3)
    problem = refused(service, 422, "POST", path, json={**base, **body})
    assert field in problem["errors"]


def test_text_that_cannot_be_stored_is_422(service, stored):
    problem = refused(service, 422, "POST", "/v1/responses",
                      json={"client_id": "client-\ud800", "instrument": "gad7", "answers": gad7(3)})
    assert "client_id" in problem["errors"]
    problem = refused(service, 422, "POST", "/v1/assignments",
                      json={"client_id": "client-1", "instrument": "gad7", "therapist_id": "\udfff"})
    assert "therapist_id" in problem["errors"]


def test_a_2mb_body_is_413(service, stored):
    body = b'{"client_id": "client-1", "instrument": "gad7", "answers": [' + b"1," * (1024 * 1024) + b"1]}"
    refused(service, 413, "POST", "/v1/responses", data=body, headers={"Content-Type": "application/json"})


def test_a_body_that_is_not_json_is_415(service, stored):
    refused(service, 415, "POST", "/v1/responses", data="client_id=client-1&instrument=gad7",
            headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_a_bad_cursor_or_limit_is_422(service, stored):
    refused(service, 422, "GET", "/v1/responses", params={"cursor": "not-a-cursor!"})
    refused(service, 422, "GET", "/v1/responses", params={"limit": 0})
    refused(service, 422, "GET", "/v1/instruments", params={"cursor": "%%%"})
