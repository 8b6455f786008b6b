"""FHIR R4 read and search: Questionnaire, QuestionnaireResponse and Observation (``shared.fhir``).

Each route calls the same actions as ``/v1``, so the caller's tenant and client scope apply: a
response of another clinic is not found, a client reads and searches only its own. Searches
read the ``/v1`` lists: a client's responses (``patient``) or the clinic's, newest first.
"""
from __future__ import annotations

from typing import Callable

from flask import Response

from services.questionnaires import fhir
from services.questionnaires.api.common import caller
from services.questionnaires.actions import page_by_code
from services.questionnaires.domain import Instrument
from shared.auth import requires
from shared.errors import Problem
from shared.fhir import (
    COMMON_PARAMS, PATIENT_PARAMS, PatientSearchQuery, SearchQuery, Served, documented, fhir_blueprint, fhir_response,
    patient_filter, searched, searchset, updated_condition,
)

SERVED = (
    Served("Questionnaire", "Each instrument, built-in and the clinic's own; id: its code."),
    Served("QuestionnaireResponse", "Each scored response.", PATIENT_PARAMS + COMMON_PARAMS),
    Served("Observation", "Each response's score (id: the response's): total, band, subscales, reliable change.",
           PATIENT_PARAMS + COMMON_PARAMS),
)
blp = fhir_blueprint("Stepwise questionnaires", SERVED)


@blp.get("/Questionnaire/<code>")
@requires()
@documented(blp, "The Questionnaire.", 404)
def read_questionnaire(code):
    """An instrument as a Questionnaire."""
    entry = caller().catalogue.get(code)
    if entry is None:
        raise Problem(404, f"No Questionnaire {code!r} here")
    return fhir_response(fhir.questionnaire(entry))


@blp.get("/Questionnaire")
@requires()
@searched(blp, SearchQuery)
@documented(blp, "A searchset Bundle of Questionnaires, by id.", 422)
def search_questionnaires(query):
    """The instruments the clinic can use; ``_lastUpdated`` matches the clinic's own (built-ins
    have no such time)."""
    entries = caller().catalogue.all()
    if query["updated"]:
        entries = [entry for entry in entries if entry.created_at is not None and query["updated"].contains(entry.created_at)]
    found, next_cursor = page_by_code(entries, query["count"], query["cursor"])
    return searchset([fhir.questionnaire(entry) for entry in found], next_cursor)


def _response(response_id: str) -> tuple[dict, Instrument]:
    questionnaires = caller()
    found = questionnaires.responses.get(response_id)
    if found is None:
        raise Problem(404, "No such resource")
    return found, questionnaires.instrument(found["instrument"]).instrument


@blp.get("/QuestionnaireResponse/<response_id>")
@requires()
@documented(blp, "The QuestionnaireResponse.", 404)
def read_questionnaire_response(response_id):
    """A response, with its answers."""
    return fhir_response(fhir.questionnaire_response(*_response(response_id)))


@blp.get("/Observation/<response_id>")
@requires()
@documented(blp, "The Observation.", 404)
def read_observation(response_id):
    """A response's score."""
    return fhir_response(fhir.observation(*_response(response_id)))


def _search(query: dict, resource: Callable[[dict, Instrument], dict]) -> Response:
    filters = patient_filter(query)
    questionnaires = caller()
    found, next_cursor = questionnaires.responses.page(
        filters, limit=query["count"], cursor=query["cursor"], stored=updated_condition(query)
    )
    # A clinic's own instrument is a lookup: once per instrument on the page, not per response.
    instruments = {code: questionnaires.instrument(code).instrument for code in {r["instrument"] for r in found}}
    return searchset([resource(response, instruments[response["instrument"]]) for response in found], next_cursor)


@blp.get("/QuestionnaireResponse")
@requires()
@searched(blp, PatientSearchQuery)
@documented(blp, "A searchset Bundle of QuestionnaireResponses, newest completed first.", 403, 422)
def search_questionnaire_responses(query):
    """A patient's responses (a client's own when the caller is one), or the clinic's."""
    return _search(query, fhir.questionnaire_response)


@blp.get("/Observation")
@requires()
@searched(blp, PatientSearchQuery)
@documented(blp, "A searchset Bundle of score Observations, newest completed first.", 403, 422)
def search_observations(query):
    """A patient's scores (a client's own when the caller is one), or the clinic's."""
    return _search(query, fhir.observation)
