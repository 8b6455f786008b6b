"""What every service's routes share: documented problem answers, idempotent-create replies and
charts served by content negotiation."""
from __future__ import annotations

from typing import Callable

from flask import Response, request
from flask_smorest import Blueprint

from shared.charts import PNG_MEDIA_TYPE, SVG_MEDIA_TYPE, BarChart, Chart, render_png, render_svg
from shared.errors import PROBLEM_MIMETYPE, TITLES, Problem
from shared.idempotency import HEADER as IDEMPOTENCY_HEADER, MAX_KEY_LENGTH
from shared.schemas import ProblemSchema

# Statuses every authenticated route can answer, and those of routes that take a JSON body.
READ_PROBLEMS = (401, 403, 422)
WRITE_PROBLEMS = (400, 401, 403, 413, 415, 422)
REPLAYED_HEADER = "Idempotent-Replayed"
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


# A resource that can also be drawn answers JSON, or its chart when the caller asks for one.
JSON_MEDIA_TYPE = "application/json"
CHART_MEDIA_TYPES = (SVG_MEDIA_TYPE, PNG_MEDIA_TYPE)
CHART_CONTENT = {
    SVG_MEDIA_TYPE: {"schema": {"type": "string"}},
    PNG_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
}


NOT_ACCEPTABLE = "This resource is served as application/json, image/svg+xml or image/png"
NOT_ACCEPTABLE_ERRORS = {"Accept": [f"Accept one of {JSON_MEDIA_TYPE}, {SVG_MEDIA_TYPE}, {PNG_MEDIA_TYPE}."]}


def chartable(blueprint: Blueprint, schema: type) -> Callable:
    """Document that a route answers its JSON (``schema``), an SVG or a PNG chart by the
    ``Accept`` header, and 406 for anything else (``wanted_media`` decides, ``chart_response``
    answers)."""
    content = {JSON_MEDIA_TYPE: {"schema": schema}, **CHART_CONTENT}

    def decorate(view: Callable) -> Callable:
        view = blueprint.doc(responses={"200": {"description": "OK: JSON, or the chart by Accept", "content": content}})(view)
        return problems(blueprint, 406)(view)

    return decorate


def wanted_media() -> str:
    """What the request's ``Accept`` header prefers among JSON, SVG and PNG (JSON when it says
    nothing, or ``*/*``); 406 naming ``Accept`` when it accepts none of them."""
    if not request.headers.get("Accept"):
        return JSON_MEDIA_TYPE
    chosen = request.accept_mimetypes.best_match((JSON_MEDIA_TYPE, *CHART_MEDIA_TYPES))
    if chosen is None:
        raise Problem(406, NOT_ACCEPTABLE, errors=NOT_ACCEPTABLE_ERRORS)
    return chosen


def chart_response(chart: Chart | BarChart, media_type: str) -> Response:
    """The chart drawn as ``media_type`` (SVG or PNG)."""
    svg = render_svg(chart)
    body = svg if media_type == SVG_MEDIA_TYPE else render_png(svg)
    response = Response(body, mimetype=media_type)
    response.vary.add("Accept")
    return response
