"""The goals HTTP API: thin routes that validate, authorize, call the domain and store."""
from __future__ import annotations

from services.goals.api import attainment, fhir, goals


def blueprints() -> list:
    return [goals.blp, attainment.blp, fhir.blp]
