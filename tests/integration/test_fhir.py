"""The FHIR R4 API of goals and questionnaires, over real HTTP against the real broker and database.

A client's story goes through the ``/v1`` APIs (a goal measured by PHQ-9 with a milestone and a
sub-goal, PHQ-9 responses scored one day apart, their scores feeding the goal through the goals
worker); then every FHIR resource is read back and validated with the ``fhir.resources`` models
of FHIR 4.0.1, searches page through their ``next`` links, ``_lastUpdated`` filters, and callers
who may not see a record get an ``OperationOutcome``.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator

import fhir.resources
import pytest
import requests
from fhir.resources import construct_fhir_element

from services.goals import config as goals_config
from services.goals.app import create_app as goals_app
from services.goals.worker import build_worker as goals_worker
from services.questionnaires import config as questionnaires_config
from services.questionnaires.app import create_app as questionnaires_app
from services.questionnaires.worker import build_worker as questionnaires_worker
from shared.clock import FixedClock
from tests.support.harness import wait_for
from tests.support.instruments import ALLIANCE

pytestmark = pytest.mark.integration

CLIENT = "client-ada"
THERAPIST = "therapist-bo"
# PHQ-9 answers (item order) and the totals they score: 16, 12, 8.
PHQ9_ANSWERS = [[2, 2, 2, 2, 2, 2, 2, 1, 1], [2, 2, 1, 1, 2, 1, 1, 2, 0], [1, 1, 1, 1, 1, 1, 1, 1, 0]]
PHQ9_TOTALS = [16, 12, 8]
LOINC = "http://loinc.org"
FHIR_JSON = "application/fhir+json"


def valid(resource: dict) -> dict:
    """``resource`` after checking it against the FHIR 4.0.1 model of its type, and for what
    the models let through: FHIR's JSON has no empty arrays, objects or strings, and no nulls."""
    construct_fhir_element(resource["resourceType"], resource)
    assert not list(empty_values(resource)), list(empty_values(resource))
    return resource


def empty_values(value, path: str = "") -> Iterator[str]:
    if value in (None, "", [], {}):
        yield path
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from empty_values(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from empty_values(inner, f"{path}[{index}]")


@pytest.fixture
def services(harness, auth):
    """Goals and questionnaires (APIs and workers) on one exchange. The questionnaires API runs
    on a clock three days back, advanced a day before each response, so that responses are
    stored on different days."""
    goals = harness.settings("goals", goals_config.OPTIONS)
    questionnaires = harness.settings("questionnaires", questionnaires_config.OPTIONS)
    for worker in (goals_worker(goals), questionnaires_worker(questionnaires)):
        harness.start(worker)
    clock = FixedClock(datetime.now(timezone.utc) - timedelta(days=3))
    return harness.serve(goals_app(goals)), harness.serve(questionnaires_app(questionnaires, clock=clock)), clock


def call(url: str, role: str = "therapist", sub: str = THERAPIST, tenant: str = "clinic-a", *, auth, expect: int = 200,
         **kwargs) -> dict:
    headers = auth(role, sub, tenant) if role else {}
    answer = requests.get(url, headers=headers, timeout=30, **kwargs)
    assert answer.status_code == expect, answer.text
    assert answer.headers["Content-Type"].startswith(FHIR_JSON)
    assert answer.headers["Cache-Control"] == "no-store"
    return valid(answer.json())


def post(url: str, body: dict, auth) -> dict:
    answer = requests.post(url, json=body, headers=auth("therapist", THERAPIST), timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()


def all_pages(url: str, auth, **params) -> tuple[list[dict], int]:
    """Every resource of a search (as the therapist), following the Bundles' next links; and
    how many pages it took."""
    found, pages = [], 0
    bundle = call(url, auth=auth, params=params)
    while True:
        pages += 1
        assert bundle["type"] == "searchset"
        found += [entry["resource"] for entry in bundle.get("entry", [])]
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            return found, pages
        bundle = call(following[0], auth=auth)


def codes(concept: dict) -> set[tuple[str, str]]:
    return {(coding["system"], coding["code"]) for coding in concept.get("coding", [])}


def outcome(answer: requests.Response, status: int) -> str:
    """The OperationOutcome of a refused request, validated; its diagnostics, joined."""
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith(FHIR_JSON)
    body = valid(answer.json())
    assert body["resourceType"] == "OperationOutcome"
    return " ".join(issue["diagnostics"] for issue in body["issue"])


def test_the_models_are_fhir_4_0_1():
    assert fhir.resources.__fhir_version__ == "4.0.1"


def test_a_clients_goal_and_scores_read_back_as_fhir(services, auth):
    goals_url, questionnaires_url, clock = services
    today = clock.now().date()
    goal = post(f"{goals_url}/v1/goals", {
        "client_id": CLIENT, "title": "PHQ-9 below 8 within 12 weeks", "category": "emotional_wellbeing",
        "description": "Bring depression symptoms below the clinical cut-off.",
        "measure": {"kind": "instrument", "instrument": "phq9", "baseline": 16, "target": 7, "direction": "decrease"},
        "milestones": [{"title": "Halfway", "percent": 50}],
        "start_date": today.isoformat(), "target_date": (today + timedelta(weeks=12)).isoformat(),
    }, auth)
    subgoal = post(f"{goals_url}/v1/goals", {
        "client_id": CLIENT, "title": "Walk 20 minutes a day", "parent_goal_id": goal["id"],
        "measure": {"kind": "duration", "unit": "minutes", "per": "day", "baseline": 0, "target": 20},
        "start_date": today.isoformat(), "target_date": (today + timedelta(weeks=8)).isoformat(),
    }, auth)
    responses = []
    for answers in PHQ9_ANSWERS:
        clock.advance(days=1)
        responses.append(post(f"{questionnaires_url}/v1/responses", {
            "client_id": CLIENT, "instrument": "phq9", "answers": answers,
            "completed_at": (clock.now() - timedelta(minutes=5)).isoformat(),
        }, auth))
    assert [r["score"]["total"] for r in responses] == PHQ9_TOTALS
    progress = f"{goals_url}/v1/goals/{goal['id']}/progress"
    wait_for(lambda: len(requests.get(progress, headers=auth("therapist", THERAPIST), timeout=30).json()["items"])
             == len(PHQ9_TOTALS), what="the scores as the goal's progress")

    fhir_q, fhir_g = f"{questionnaires_url}/fhir/R4", f"{goals_url}/fhir/R4"

    # What each service serves.
    for base, types in ((fhir_q, {"Questionnaire", "QuestionnaireResponse", "Observation"}), (fhir_g, {"Goal"})):
        statement = call(f"{base}/metadata", role=None, auth=auth)
        assert statement["fhirVersion"] == "4.0.1"
        assert {resource["type"] for resource in statement["rest"][0]["resource"]} == types

    # The instrument, with its LOINC panel code, item codes and each option's points.
    questionnaire = call(f"{fhir_q}/Questionnaire/phq9", auth=auth)
    assert (LOINC, "44249-1") in codes({"coding": questionnaire["code"]})
    item9 = questionnaire["item"][8]
    assert item9["linkId"] == "9" and item9["type"] == "choice" and item9["code"]
    assert [option["extension"][0]["valueDecimal"] for option in item9["answerOption"]] == [0, 1, 2, 3]
    listed, _ = all_pages(f"{fhir_q}/Questionnaire", auth, _count=4)
    assert "phq9" in {resource["id"] for resource in listed} and len(listed) > 4

    # Each response and its score.
    first = responses[0]
    answered = call(f"{fhir_q}/QuestionnaireResponse/{first['id']}", auth=auth)
    assert answered["subject"] == {"reference": f"Patient/{CLIENT}"}
    assert answered["questionnaire"].startswith(questionnaire["url"])
    assert [item["answer"][0]["valueCoding"]["code"] for item in answered["item"]] == [str(v) for v in PHQ9_ANSWERS[0]]
    for response, total in zip(responses, PHQ9_TOTALS, strict=True):
        score = call(f"{fhir_q}/Observation/{response['id']}", auth=auth)
        assert codes(score["code"]) == {(LOINC, "44261-6")}
        assert score["valueQuantity"]["value"] == total
        assert score["interpretation"][0]["text"] == response["score"]["severity"]
        assert score["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{response['id']}"}]
    # The last fell 8 points from the baseline of 16: a reliable improvement (PHQ-9: 6 points).
    last = call(f"{fhir_q}/Observation/{responses[-1]['id']}", auth=auth)
    change = [c for c in last["component"] if c["code"]["coding"][0]["code"] == "reliable-change"]
    assert change[0]["valueCodeableConcept"]["coding"][0]["code"] == "improved"

    # The goal: its target and milestone, the sub-goal, and the scores that fed it.
    read = call(f"{fhir_g}/Goal/{goal['id']}", auth=auth)
    assert read["lifecycleStatus"] == "active" and read["subject"] == {"reference": f"Patient/{CLIENT}"}
    assert read["achievementStatus"]["coding"][0]["code"] == "improving"
    target, milestone = read["target"]
    assert codes(target["measure"]) == {(LOINC, "44261-6")}
    assert target["detailQuantity"]["value"] == 7 and target["dueDate"] == goal["target_date"]
    # Halfway from 16 to 7 is 11.5, passed by the third score.
    assert milestone["detailQuantity"]["value"] == 11.5
    assert [marker["url"] for marker in milestone["extension"][0]["extension"]] == ["title", "reached"]
    assert {f"Observation/{r['id']}" for r in responses} == {ref["reference"] for ref in read["outcomeReference"]}
    relationship = read["extension"][0]["extension"]
    assert relationship[1]["valueReference"] == {"reference": f"Goal/{subgoal['id']}"}

    # Searches page through next links, for the patient named either way.
    scores, pages = all_pages(f"{fhir_q}/Observation", auth, patient=f"Patient/{CLIENT}", _count=2, _format="json")
    assert [s["id"] for s in scores] == [r["id"] for r in reversed(responses)] and pages == 2
    answers, _ = all_pages(f"{fhir_q}/QuestionnaireResponse", auth, subject=CLIENT, _count=1)
    assert [a["id"] for a in answers] == [r["id"] for r in reversed(responses)]
    found_goals, pages = all_pages(f"{fhir_g}/Goal", auth, patient=CLIENT, _count=1)
    assert [g["id"] for g in found_goals] == [goal["id"], subgoal["id"]] and pages == 2

    # _lastUpdated: the responses stored from the second one's day on, and a range that holds none.
    second_day = call(f"{fhir_q}/Observation/{responses[1]['id']}", auth=auth)["meta"]["lastUpdated"][:10]
    since, _ = all_pages(f"{fhir_q}/Observation", auth, patient=CLIENT, _lastUpdated=f"ge{second_day}")
    assert [s["id"] for s in since] == [r["id"] for r in reversed(responses[1:])]
    before, _ = all_pages(f"{fhir_q}/QuestionnaireResponse", auth, patient=CLIENT,
                          _lastUpdated=[f"lt{second_day}", f"ge{today.isoformat()}"])
    assert [b["id"] for b in before] == [responses[0]["id"]]
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    assert all_pages(f"{fhir_g}/Goal", auth, patient=CLIENT, _lastUpdated=f"ge{tomorrow}")[0] == []
    assert len(all_pages(f"{fhir_g}/Goal", auth, patient=CLIENT, _lastUpdated=f"lt{tomorrow}")[0]) == 2

    # The client reads its own.
    assert call(f"{fhir_g}/Goal/{goal['id']}", "client", CLIENT, auth=auth)["id"] == goal["id"]
    as_client = call(f"{fhir_q}/Observation", "client", CLIENT, auth=auth)
    assert len(as_client["entry"]) == len(responses)

    # Who may not see it: no token 401, another client 404 (read) and 403 (naming the patient),
    # another clinic 404 and an empty search.
    assert "bearer token" in outcome(requests.get(f"{fhir_q}/Observation/{first['id']}", timeout=30), 401)
    assert outcome(requests.get(f"{fhir_g}/Goal", timeout=30), 401)
    other_client = auth("client", "client-bea")
    outcome(requests.get(f"{fhir_q}/Observation/{first['id']}", headers=other_client, timeout=30), 404)
    outcome(requests.get(f"{fhir_g}/Goal/{goal['id']}", headers=other_client, timeout=30), 404)
    outcome(requests.get(f"{fhir_q}/Observation", params={"patient": CLIENT}, headers=other_client, timeout=30), 403)
    outcome(requests.get(f"{fhir_g}/Goal", params={"patient": CLIENT}, headers=other_client, timeout=30), 403)
    other_clinic = auth("therapist", THERAPIST, "clinic-b")
    outcome(requests.get(f"{fhir_q}/QuestionnaireResponse/{first['id']}", headers=other_clinic, timeout=30), 404)
    outcome(requests.get(f"{fhir_g}/Goal/{goal['id']}", headers=other_clinic, timeout=30), 404)
    empty = call(f"{fhir_q}/Observation", "therapist", THERAPIST, "clinic-b", auth=auth, params={"patient": CLIENT})
    assert empty.get("entry", []) == []


@pytest.mark.parametrize("params, named", [
    ({"_count": "0"}, "_count"),
    ({"_count": "many"}, "_count"),
    ({"_lastUpdated": "yesterday"}, "_lastUpdated"),
    ({"_lastUpdated": "ne2026-01-01"}, "_lastUpdated"),
    ({"_lastUpdated": "ge2026-13-01"}, "_lastUpdated"),
    ({"patient": "Group/1"}, "patient"),
    ({"patient": "a", "subject": "b"}, "subject"),
    ({"code": "44261-6"}, "code"),
    ({"_format": "xml"}, "_format"),
    ({"_cursor": "not-a-cursor"}, "cursor"),
])
def test_bad_search_parameters_are_an_operation_outcome_naming_them(services, auth, params, named):
    goals_url, questionnaires_url, _ = services
    for url in (f"{questionnaires_url}/fhir/R4/Observation", f"{goals_url}/fhir/R4/Goal"):
        diagnostics = outcome(requests.get(url, params=params, headers=auth(), timeout=30), 422)
        assert named in diagnostics


def test_unknown_resources_and_types_are_not_found(services, auth):
    goals_url, questionnaires_url, _ = services
    for url in (f"{questionnaires_url}/fhir/R4/Observation/nope", f"{questionnaires_url}/fhir/R4/Questionnaire/nope",
                f"{questionnaires_url}/fhir/R4/Patient/client-ada", f"{goals_url}/fhir/R4/Goal/nope"):
        outcome(requests.get(url, headers=auth(), timeout=30), 404)


def test_a_clinics_own_instrument_and_its_scores_use_stepwise_codes(services, auth):
    _, questionnaires_url, clock = services
    admin = auth("admin", "admin-1")
    added = requests.post(f"{questionnaires_url}/v1/instruments", json=ALLIANCE, headers=admin, timeout=30)
    assert added.status_code == 201, added.text
    response = post(f"{questionnaires_url}/v1/responses",
                    {"client_id": CLIENT, "instrument": "alliance4", "answers": [3, 3, 3, 3]}, auth)
    fhir_q = f"{questionnaires_url}/fhir/R4"

    questionnaire = call(f"{fhir_q}/Questionnaire/alliance4", auth=auth)
    assert "code" not in questionnaire and questionnaire["meta"]["lastUpdated"].startswith(clock.now().date().isoformat())
    assert {item["type"] for item in questionnaire["item"]} == {"integer"}
    score = call(f"{fhir_q}/Observation/{response['id']}", auth=auth)
    assert codes(score["code"]) == {("https://stepwise.invalid/fhir/CodeSystem/instruments", "alliance4-total")}
    assert score["valueQuantity"]["value"] == 12 and score["interpretation"][0]["text"] == "good"
    answered = call(f"{fhir_q}/QuestionnaireResponse/{response['id']}", auth=auth)
    assert [item["answer"][0]["valueInteger"] for item in answered["item"]] == [3, 3, 3, 3]

    # Only the clinic's own instruments have a time they were stored; the built-ins have none.
    since, _ = all_pages(f"{fhir_q}/Questionnaire", auth, _lastUpdated=f"ge{clock.now().date().isoformat()}")
    assert [q["id"] for q in since] == ["alliance4"]
    elsewhere = auth("therapist", THERAPIST, "clinic-b")
    outcome(requests.get(f"{fhir_q}/Questionnaire/alliance4", headers=elsewhere, timeout=30), 404)
