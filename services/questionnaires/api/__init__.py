"""The questionnaires HTTP API: thin routes that validate, authorize, call the domain and store."""
from __future__ import annotations

from services.questionnaires.api import assignments, clients, fhir, instruments, responses


def blueprints() -> list:
    return [instruments.blp, responses.blp, clients.blp, assignments.blp, fhir.blp]
