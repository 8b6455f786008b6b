"""The questionnaires HTTP API: thin routes that validate, authorize, call the domain and store."""
from __future__ import annotations

from services.questionnaires import config
from services.questionnaires.api import assignments, clients, fhir, instruments, outcomes, responses
from shared import client_data
from shared.audit import RouteAudit

# The access audit (shared.audit): routes that read a client's records, that change them, and that
# touch none. A route missing here stops the app at start-up.
AUDITED = RouteAudit(
    reads=(
        "GET /v1/clients/<client_id>/export",
        "GET /v1/responses", "GET /v1/responses/<response_id>", "GET /v1/clients/<client_id>/scores",
        "GET /v1/clients/<client_id>/recovery", "GET /v1/outcomes", "GET /v1/assignments", "GET /v1/assignments/<assignment_id>",
        "GET /fhir/R4/QuestionnaireResponse", "GET /fhir/R4/QuestionnaireResponse/<response_id>",
        "GET /fhir/R4/Observation", "GET /fhir/R4/Observation/<response_id>",
    ),
    changes=(
        "POST /v1/clients/<client_id>/erasure", "POST /v1/responses", "POST /v1/assignments",
        "POST /v1/assignments/<assignment_id>/cancel",
    ),
    # Instrument definitions, what FHIR is served, and an erasure's progress (counts, no records).
    others=(
        "GET /v1/erasures/<erasure_id>", "GET /v1/instruments", "GET /v1/instruments/<code>", "POST /v1/instruments",
        "GET /fhir/R4/Questionnaire", "GET /fhir/R4/Questionnaire/<code>", "GET /fhir/R4/metadata",
    ),
)


def blueprints() -> list:
    return [
        client_data.blueprint(config.CLIENT_RECORDS, config.SERVICE),
        instruments.blp, responses.blp, clients.blp, outcomes.blp, assignments.blp, fhir.blp,
    ]
