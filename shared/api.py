"""What every service's routes share: documented problem answers and idempotent-create replies."""
from __future__ import annotations

from typing import Callable

from flask_smorest import Blueprint

from shared.errors import PROBLEM_MIMETYPE, TITLES
from shared.idempotency import HEADER as IDEMPOTENCY_HEADER, MAX_KEY_LENGTH
from shared.schemas import ProblemSchema

# Statuses every authenticated route can answer, and those of routes that take a JSON body.
READ_PROBLEMS = (401, 403, 422)
WRITE_PROBLEMS = (400, 401, 403, 413, 415, 422)
REPLAYED_HEADER = "Idempotent-Replayed"
REQUEST_ID_HEADER = "X-Request-ID"
# Marks an operation for shared.apidocs, which documents its replay header and removes the mark.
REPLAYABLE = "x-stepwise-replayable"
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": IDEMPOTENCY_HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "description": "A retry with the same key and body returns the first result and creates nothing new.",
}


def problems(blueprint: Blueprint, *statuses: int) -> Callable:
    """Document problem+json answers for ``statuses`` in the OpenAPI document (shared.errors makes them)."""

    def decorate(view: Callable) -> Callable:
        for status in sorted(set(statuses)):
            view = blueprint.alt_response(
                status, schema=ProblemSchema, content_type=PROBLEM_MIMETYPE, description=TITLES[status]
            )(view)
        return view

    return decorate


def replayable(blueprint: Blueprint, *, keyed: bool = True) -> Callable:
    """Document a create that answers a repeat with the first record and ``Idempotent-Replayed:
    true`` (``replayed``); ``keyed``: a repeat is one with the same ``Idempotency-Key`` and body
    (``shared.idempotency``), else one with the same body (shared.apidocs documents the header)."""
    return blueprint.doc(parameters=[IDEMPOTENCY_KEY] if keyed else [], **{REPLAYABLE: True})


def replayed(created: bool) -> dict:
    """Tell a caller whose Idempotency-Key matched an earlier request that nothing new was made."""
    return {} if created else {REPLAYED_HEADER: "true"}
