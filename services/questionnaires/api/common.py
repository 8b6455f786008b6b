"""What every questionnaires route shares: documented problem answers, and the caller's view."""
from __future__ import annotations

from datetime import timedelta
from typing import Callable

from flask_smorest import Blueprint

from services.questionnaires.actions import Questionnaires
from shared.app import service_context
from shared.auth import check_client_access, current_principal
from shared.errors import PROBLEM_MIMETYPE, TITLES, Problem
from shared.schemas import ProblemSchema

# Statuses every authenticated route can answer, and those of routes that take a JSON body.
READ_PROBLEMS = (401, 403, 422)
WRITE_PROBLEMS = (400, 401, 403, 413, 415, 422)
REPLAYED_HEADER = "Idempotent-Replayed"


def problems(blueprint: Blueprint, *statuses: int) -> Callable:
    """Document problem+json answers for ``statuses`` in the OpenAPI document."""

    def decorate(view: Callable) -> Callable:
        for status in sorted(set(statuses)):
            view = blueprint.alt_response(
                status, schema=ProblemSchema, content_type=PROBLEM_MIMETYPE, description=TITLES[status]
            )(view)
        return view

    return decorate


def caller() -> Questionnaires:
    """What the caller may see and do, at this request's moment."""
    context = service_context()
    return Questionnaires(
        database=context.database,
        principal=current_principal(),
        now=context.clock.now(),
        grace=timedelta(hours=context.settings["OVERDUE_AFTER_HOURS"]),
    )


def client_named(data: dict) -> str:
    """The client a body is about: a client's own id by default; staff must name one."""
    principal = current_principal()
    client_id = data.get("client_id")
    if client_id is None:
        if not principal.is_client:
            raise Problem(422, "Invalid value for: client_id", errors={"client_id": ["Name the client."]})
        client_id = principal.sub
    check_client_access(principal, client_id)
    return client_id


def replayed(created: bool) -> dict:
    """Tell a caller whose Idempotency-Key matched an earlier request that nothing new was made."""
    return {} if created else {REPLAYED_HEADER: "true"}
