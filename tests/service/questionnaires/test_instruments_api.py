"""Instruments through the API: the built-in library, and a clinic's own, checked like the built-ins
and visible only in that clinic."""
from __future__ import annotations

import copy

import pytest

from tests.support.instruments import ALLIANCE

pytestmark = pytest.mark.service


def test_the_built_in_library_is_listed_with_sources_and_licences(service):
    answer = service.get("/v1/instruments", role="client", sub="client-1")
    assert answer.status_code == 200
    codes = [item["code"] for item in answer.json["items"]]
    assert {"phq9", "gad7", "phq2", "gad2", "who5"} <= set(codes)
    assert codes == sorted(codes)
    phq9 = service.get("/v1/instruments/phq9").json
    assert phq9["builtin"] is True
    assert len(phq9["items"]) == 9 and phq9["items"][0]["options"][3] == {"value": 3, "label": "Nearly every day"}
    assert phq9["critical_items"][0]["flag"] == "self_harm_risk"
    assert phq9["change"]["reliable_change"]["points"] == 6
    assert phq9["licence"]["redistribute_items"] is True
    assert phq9["sources"] and phq9["scoring"]["range"] == [0, 27]
    codes = {coding["role"]: (coding["system"], coding["code"]) for coding in phq9["codes"]}
    assert codes["panel"] == ("http://loinc.org", "44249-1") and codes["total"] == ("http://loinc.org", "44261-6")
    assert codes["item:9"] == ("http://loinc.org", "44260-8")


def test_the_library_pages_by_code(service):
    seen, cursor = [], None
    while True:
        page = service.get("/v1/instruments", params={"limit": 4, **({"cursor": cursor} if cursor else {})}).json
        seen += [item["code"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) >= 11


def test_an_admin_adds_a_clinic_instrument_that_scores_and_flags(service):
    added = service.post("/v1/instruments", ALLIANCE, role="admin", sub="admin-1")
    assert added.status_code == 201, added.text
    assert added.json["builtin"] is False and added.json["created_by"] == "admin-1"
    assert service.get("/v1/instruments/alliance4").json["items"][3]["id"] == "a4"

    response = service.submit("client-1", "alliance4", {"a1": 3, "a2": 3, "a3": 2, "a4": 4})
    assert response["score"]["total"] == 12
    assert response["score"]["severity"] == "good"
    assert response["score"]["flags"] == [{"code": "rupture", "item": "a4", "value": 4}]
    later = service.submit("client-1", "alliance4", [1, 1, 1, 2])
    assert later["change"]["reliable_change"] == "deteriorated"  # 12 -> 5, higher is better


def test_a_clinic_instrument_is_invisible_to_other_clinics(service):
    assert service.post("/v1/instruments", ALLIANCE, role="admin").status_code == 201
    elsewhere = {"tenant": "clinic-b"}
    assert service.get("/v1/instruments/alliance4", **elsewhere).status_code == 404
    assert "alliance4" not in [i["code"] for i in service.get("/v1/instruments", **elsewhere).json["items"]]
    refused = service.post("/v1/responses", {"client_id": "client-1", "instrument": "alliance4", "answers": [1, 1, 1, 1]},
                           **elsewhere)
    assert refused.status_code == 422 and "instrument" in refused.json["errors"]
    # The other clinic may use the same code for its own, different, instrument.
    theirs = copy.deepcopy(ALLIANCE)
    theirs["name"] = "Clinic B's alliance check"
    assert service.post("/v1/instruments", theirs, role="admin", **elsewhere).status_code == 201
    assert service.get("/v1/instruments/alliance4").json["name"] == ALLIANCE["name"]


def test_a_code_in_use_is_409_and_the_same_definition_again_is_a_replay(service):
    assert service.post("/v1/instruments", ALLIANCE, role="admin").status_code == 201
    again = service.post("/v1/instruments", ALLIANCE, role="admin")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    changed = {**ALLIANCE, "name": "Something else"}
    before = service.snapshot()
    assert service.post("/v1/instruments", changed, role="admin").status_code == 409
    builtin_code = {**ALLIANCE, "code": "phq9"}
    clash = service.post("/v1/instruments", builtin_code, role="admin")
    assert clash.status_code == 409 and "built-in" in clash.json["detail"]
    assert service.snapshot() == before


@pytest.mark.parametrize(
    ("breakage", "field"),
    [
        (lambda d: d["scoring"].update(range=[0, 20]), "scoring.range"),
        (lambda d: d["bands"][1].update(min=8), "bands"),
        (lambda d: d["items"][2].update(max="four"), "items.2.max"),
        (lambda d: d["critical_items"][0].update(item="a9"), "critical_items.0.item"),
        (lambda d: d.update(code="Not A Code"), "code"),
        (lambda d: d.pop("licence"), "licence"),
        (lambda d: d.update(colour="blue"), "colour"),
        (lambda d: d["items"][0].update(max=10**19), "items.0.max"),  # beyond what can be stored
        (lambda d: d["items"][0].update(max=10**6), "items.0.max"),  # a scale too long to enumerate
        (lambda d: d.update(codes=[{"system": "not a uri", "code": "A", "role": "panel"}]), "codes.0.system"),
        (lambda d: d.update(codes=[{"system": "http://loinc.org", "code": "44249-2", "role": "panel"}]), "codes.0.code"),
        (lambda d: d.update(codes=[{"system": "urn:clinic", "code": "A\u0000B", "role": "panel"}]), "codes.0.code"),
        (lambda d: d.update(codes=[{"system": "urn:clinic", "code": "A", "role": "item:a9"}]), "codes.0.role"),
        (lambda d: d.update(codes=[{"system": "urn:clinic", "code": "\ud800", "role": "panel"}]), "codes.0.code"),
        (lambda d: d.update(codes={"panel": "A"}), "codes"),
    ],
)
def test_a_bad_definition_is_422_naming_what_is_wrong(service, breakage, field):
    definition = copy.deepcopy(ALLIANCE)
    breakage(definition)
    before = service.snapshot()
    answer = service.post("/v1/instruments", definition, role="admin")
    assert answer.status_code == 422, answer.text
    assert field in answer.json["errors"], answer.json
    assert service.snapshot() == before


def test_item_ids_with_dots_are_stored_and_shown(service):
    dotted = copy.deepcopy(ALLIANCE)
    dotted["code"] = "dotted"
    for item in dotted["items"]:
        item["id"] = item["id"].replace("a", "part.")
    dotted["critical_items"][0]["item"] = "part.4"
    assert service.post("/v1/instruments", dotted, role="admin").status_code == 201
    response = service.submit("client-1", "dotted", {"part.1": 1, "part.2": 2, "part.3": 3, "part.4": 4})
    assert response["answers"] == {"part.1": 1, "part.2": 2, "part.3": 3, "part.4": 4}
    assert response["score"]["flags"] == [{"code": "rupture", "item": "part.4", "value": 4}]
    assert service.get(f"/v1/responses/{response['id']}").json["answers"] == response["answers"]


def test_a_clinic_instrument_keeps_its_codes(service):
    """Codes a clinic gives its instrument are stored and shown as given, in the one instrument
    and in the list, for the FHIR answers that will carry them."""
    coded = copy.deepcopy(ALLIANCE)
    coded["code"] = "coded-alliance"
    coded["codes"] = [
        {"system": "https://clinic-a.example/fhir/CodeSystem/measures", "code": "ALLY-4", "role": "panel",
         "display": "Session alliance check", "source": "clinic catalogue"},
        {"system": "https://clinic-a.example/fhir/CodeSystem/measures", "code": "ALLY-4-T", "role": "total"},
        {"system": "https://clinic-a.example/fhir/CodeSystem/measures", "code": "ALLY-4.4", "role": "item:a4"},
        {"system": "http://loinc.org", "code": "44261-6", "role": "total"},
    ]
    added = service.post("/v1/instruments", coded, role="admin")
    assert added.status_code == 201, added.text
    assert added.json["codes"] == coded["codes"]
    assert service.get("/v1/instruments/coded-alliance").json["codes"] == coded["codes"]
    listed = {item["code"]: item for item in service.get("/v1/instruments", params={"limit": 200}).json["items"]}
    assert listed["coded-alliance"]["codes"] == coded["codes"]
    # The same definition again is a replay, codes and all; other codes under the code are a clash.
    assert service.post("/v1/instruments", coded, role="admin").headers["Idempotent-Replayed"] == "true"
    recoded = {**coded, "codes": coded["codes"][:1]}
    assert service.post("/v1/instruments", recoded, role="admin").status_code == 409
