"""What every goals route shares: the problem responses it documents, and the caller's goals."""
from __future__ import annotations

from typing import Callable

from flask_smorest import Blueprint

from services.goals.actions import Goals
from services.goals.adapters.store import GoalStore
from shared.app import service_context
from shared.auth import current_principal
from shared.errors import PROBLEM_MIMETYPE, TITLES
from shared.instrument_ranges import score_ranges
from shared.schemas import ProblemSchema

# Statuses every authenticated route can answer, and those of routes that take a JSON body.
READ_PROBLEMS = (401, 403, 422)
WRITE_PROBLEMS = (400, 401, 403, 413, 415, 422)
REPLAYED_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "A retry with the same key and body returns the first result and creates nothing new.",
}


def problems(blueprint: Blueprint, *statuses: int) -> Callable:
    """Document problem+json answers for ``statuses`` in the OpenAPI document."""

    def decorate(view: Callable) -> Callable:
        for status in sorted(set(statuses)):
            view = blueprint.alt_response(
                status, schema=ProblemSchema, content_type=PROBLEM_MIMETYPE, description=TITLES[status]
            )(view)
        return view

    return decorate


def caller_goals() -> Goals:
    """The goals the caller may see and change, at this request's moment."""
    principal = current_principal()
    context = service_context()
    return Goals(
        GoalStore(context.database, principal.scope),
        now=context.clock.now(),
        by=principal.sub,
        ranges=score_ranges(),
    )


def replayed(created: bool) -> dict:
    """Tell a caller whose Idempotency-Key matched an earlier request that nothing new was made."""
    return {} if created else {REPLAYED_HEADER: "true"}
