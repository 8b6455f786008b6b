"""The goals HTTP API: thin routes that validate, authorize, call the domain and store."""
from __future__ import annotations

from services.goals import config
from services.goals.api import attainment, fhir, goals
from shared import client_data
from shared.audit import RouteAudit

# The access audit (shared.audit): routes that read a client's records, that change them, and that
# touch none. A route missing here stops the app at start-up.
AUDITED = RouteAudit(
    reads=(
        "GET /v1/clients/<client_id>/export",
        "GET /v1/goals", "GET /v1/goals/<goal_id>", "GET /v1/goals/<goal_id>/progress",
        "GET /v1/goals/<goal_id>/revisions", "GET /v1/goals/<goal_id>/attainment",
        "GET /v1/clients/<client_id>/attainment", "GET /fhir/R4/Goal", "GET /fhir/R4/Goal/<goal_id>",
    ),
    changes=(
        "POST /v1/clients/<client_id>/erasure",
        "POST /v1/goals", "PATCH /v1/goals/<goal_id>", "POST /v1/goals/<goal_id>/progress",
        "POST /v1/goals/<goal_id>/status", "POST /v1/goals/<goal_id>/milestones",
        "PUT /v1/goals/<goal_id>/attainment-scale", "POST /v1/goals/<goal_id>/attainment",
    ),
    # A draft goal checked (nothing read or stored), what FHIR is served, an erasure's progress.
    others=("POST /v1/goals/smart-check", "GET /fhir/R4/metadata", "GET /v1/erasures/<erasure_id>"),
)


def blueprints() -> list:
    return [client_data.blueprint(config.CLIENT_RECORDS, config.SERVICE), goals.blp, attainment.blp, fhir.blp]
