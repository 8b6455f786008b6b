"""The questionnaires service's records as FHIR R4 resources (pure: no I/O).

- an instrument is a ``Questionnaire`` (id: its code), with its panel codes, its items (their
  codes where the definition has them), each answer option with its points as the core
  ``ordinalValue`` extension, and a range item's bounds as ``minValue``/``maxValue``;
- a response is a ``QuestionnaireResponse`` (id: the response's) answering it;
- a response's score is an ``Observation`` with the same id: the total (``Observation.code`` is
  the instrument's total-score code), the severity band as its interpretation, each subscale and
  the reliable change from baseline as components, ``derivedFrom`` the QuestionnaireResponse.

Codes come from the instrument definitions (``codes``: LOINC where one was confirmed, otherwise
Stepwise's own system); bands, answers and component names are in Stepwise's own code systems.
"""
from __future__ import annotations

from typing import Any, Mapping

from services.questionnaires.adapters.instruments import CatalogueEntry
from services.questionnaires.domain import Instrument
from services.questionnaires.domain.model import Item, Option
from shared.fhir import SCORE_UNIT, STEPWISE_FHIR, instant, meta, patient, reference, stepwise_coding

ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
SURVEY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey",
                      "display": "Survey"}]}
# Stepwise's own code system of the instruments (the one the definitions use when no LOINC code
# could be confirmed): it also names their subscales, as <instrument>-<subscale>.
INSTRUMENTS_SYSTEM = "instruments"


def canonical(instrument: Instrument) -> str:
    return f"{STEPWISE_FHIR}/Questionnaire/{instrument.code}"


def codings(instrument: Instrument, role: str) -> list[dict]:
    return [
        {key: value for key, value in (("system", c.system), ("code", c.code), ("display", c.display)) if value}
        for c in instrument.codes if c.role == role
    ]


def total_codings(instrument: Instrument) -> list[dict]:
    """The total score's codes; a clinic's instrument defined without one gets Stepwise's own,
    ``<code>-total``, as the built-ins without a LOINC code have."""
    return codings(instrument, "total") or [stepwise_coding(INSTRUMENTS_SYSTEM, f"{instrument.code}-total")]


def answer_coding(instrument: Instrument, option: Option) -> dict:
    return stepwise_coding(f"{instrument.code}-answers", str(option.value), option.label)


def _item(instrument: Instrument, item: Item) -> dict:
    found: dict[str, Any] = {"linkId": item.id, "text": item.text, "required": not item.optional}
    item_codes = codings(instrument, f"item:{item.id}")
    if item_codes:
        found["code"] = item_codes
    if item.options is not None:
        found["type"] = "choice"
        found["answerOption"] = [
            {"valueCoding": answer_coding(instrument, option),
             "extension": [{"url": ORDINAL_VALUE, "valueDecimal": item.score_of(option.value)}]}
            for option in item.options
        ]
    else:
        found["type"] = "integer"
        found["extension"] = [{"url": MIN_VALUE, "valueInteger": item.min}, {"url": MAX_VALUE, "valueInteger": item.max}]
    return found


def questionnaire(entry: CatalogueEntry) -> dict:
    instrument = entry.instrument
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": instrument.code,
        "url": canonical(instrument),
        "version": instrument.version,
        "title": instrument.name,
        "status": "active",
        "subjectType": ["Patient"],
        "code": codings(instrument, "panel"),
        "copyright": instrument.licence.text,
        "item": [_item(instrument, item) for item in instrument.items],
    }
    if entry.created_at is not None:  # a clinic's own; the built-ins ship with the code
        resource["meta"] = meta(entry.created_at)
    if instrument.instructions:
        resource["description"] = instrument.instructions
    if not resource["code"]:
        del resource["code"]
    return resource


def _answered_item(instrument: Instrument, item_id: str) -> Item:
    """The item a stored answer names: one of the instrument version's it was checked against."""
    item = instrument.item(item_id)
    if item is None:
        raise ValueError(f"{instrument.code} has no item {item_id}")
    return item


def _answer(instrument: Instrument, item_id: str, value: Any) -> dict:
    for option in _answered_item(instrument, item_id).options or ():
        if option.value == value:
            return {"valueCoding": answer_coding(instrument, option)}
    return {"valueInteger": value}


def questionnaire_response(response: Mapping[str, Any], instrument: Instrument) -> dict:
    """``response`` as stored (``ResponseStore``); left-out answers have no item."""
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": response["_id"],
        "meta": meta(response["created_at"]),
        "questionnaire": f"{canonical(instrument)}|{response['instrument_version']}",
        "status": "completed",
        "subject": patient(response["client_id"]),
        "authored": instant(response["completed_at"]),
        "item": [
            {"linkId": answer["item"], "text": _answered_item(instrument, answer["item"]).text,
             "answer": [_answer(instrument, answer["item"], answer["value"])]}
            for answer in response["answers"] if answer["value"] is not None
        ],
    }
    if not resource["item"]:  # FHIR's JSON has no empty arrays
        del resource["item"]
    return resource


def _quantity(value: float) -> dict:
    return {"value": value, **SCORE_UNIT}


def observation(response: Mapping[str, Any], instrument: Instrument) -> dict:
    """The score of ``response`` (stored, as ``ResponseStore`` reads it: answers not needed)."""
    score, change = response["score"], response["change"]
    components = [
        {"code": {"coding": [stepwise_coding(INSTRUMENTS_SYSTEM, f"{instrument.code}-{name}")], "text": name},
         "valueQuantity": _quantity(value)}
        for name, value in score["subscales"].items() if value is not None
    ]
    if change.get("reliable_change") is not None:
        components.append({
            "code": {"coding": [stepwise_coding("observation-components", "reliable-change",
                                                "Reliable change from baseline")]},
            "valueCodeableConcept": {"coding": [stepwise_coding("reliable-change", change["reliable_change"])]},
        })
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": response["_id"],
        "meta": meta(response["created_at"]),
        "status": "final",
        "category": [SURVEY],
        "code": {"coding": total_codings(instrument), "text": f"{instrument.name} total score"},
        "subject": patient(response["client_id"]),
        "effectiveDateTime": instant(response["completed_at"]),
        "issued": instant(response["created_at"]),
        "valueQuantity": _quantity(score["total"]),
        "derivedFrom": [reference("QuestionnaireResponse", response["_id"])],
    }
    if score.get("severity"):
        resource["interpretation"] = [{
            "coding": [stepwise_coding(f"{instrument.code}-bands", score["severity"])], "text": score["severity"],
        }]
    if components:
        resource["component"] = components
    return resource
