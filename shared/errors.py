"""Errors as RFC 9457 problem+json, for every 4xx and 5xx a service answers.

Bad input must get a clear 4xx naming the wrong field, never a 5xx, and must change nothing:
the guards (``shared.guards``) run before any route, and the handlers here turn every
exception into a problem.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask, Response, json, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://stepwise.dev/problems/"
PROBLEM_MIMETYPE = "application/problem+json"

TITLES = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Body too large",
    414: "URL too long",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    431: "Headers too large",
    500: "Internal error",
    503: "Service unavailable",
}
SLUGS = {
    400: "malformed",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "too-large",
    414: "url-too-long",
    415: "unsupported-media-type",
    422: "validation",
    429: "rate-limited",
    431: "headers-too-large",
    500: "internal",
    503: "unavailable",
}


class Problem(Exception):
    """Raise to answer with a problem document; ``errors`` maps a field to its messages."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        errors: Mapping[str, Any] | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ):
        super().__init__(detail or TITLES.get(status, ""))
        self.headers = headers
        self.status = status
        self.detail = detail
        self.errors = errors
        self.title = title
        self.extensions = extensions


def problem_body(
    status: int,
    detail: str | None = None,
    *,
    errors: Mapping[str, Any] | None = None,
    title: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    """The problem document itself (also the examples of the OpenAPI documents, shared.apidocs)."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + SLUGS.get(status, str(status)),
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail or TITLES.get(status, "Error"),
    }
    if errors:
        body["errors"] = errors
    body.update(extensions)
    return body


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    errors: Mapping[str, Any] | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> Response:
    body = problem_body(status, detail, errors=errors, title=title, **extensions)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into ``{"field.sub": [message, ...]}``.

    webargs nests them under the request location (``{"json": {...}}``); that level says
    nothing to a caller and is dropped.
    """
    if isinstance(messages, Mapping):
        if not prefix and set(messages) <= {"json", "query", "headers", "form", "files", "view_args"}:
            merged: dict[str, list[str]] = {}
            for inner in messages.values():
                merged.update(flatten_errors(inner))
            return merged
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, Mapping):
                flat.update(flatten_errors(value, name))
            else:
                flat[name] = [str(v) for v in (value if isinstance(value, list) else [value])]
        return flat
    if isinstance(messages, list):
        return {prefix or "_schema": [str(m) for m in messages]}
    return {prefix or "_schema": [str(messages)]}


def detail_for(errors: Mapping[str, list[str]]) -> str:
    fields = ", ".join(sorted(errors))
    return f"Invalid value for: {fields}" if fields else "The request is invalid"


def invalid(errors: Mapping[str, list[str]]) -> Problem:
    """The 422 for input a schema let through and a rule refused: names each field and says why."""
    return Problem(422, detail_for(errors), errors=dict(errors))


def _handle_problem(exc: Problem) -> Response:
    errors = exc.errors
    if errors is not None and not all(isinstance(v, list) for v in errors.values()):
        errors = flatten_errors(errors)
    return problem_response(
        exc.status, exc.detail, errors=errors, title=exc.title, headers=exc.headers, **exc.extensions
    )


def _handle_validation(exc: ValidationError) -> Response:
    errors = flatten_errors(exc.messages)
    return problem_response(422, detail_for(errors), errors=errors)


def _handle_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    headers = dict(data.get("headers") or {})
    if getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    if messages:
        errors = flatten_errors(messages)
        if status == 400:
            return problem_response(400, "The body is not valid JSON", errors=errors, headers=headers)
        return problem_response(status, detail_for(errors), errors=errors, headers=headers)
    detail = data.get("message") or exc.description
    return problem_response(status, detail, headers=headers)


def _handle_unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url_rule or "unknown route")
    return problem_response(500, "An unexpected error occurred; it has been logged")


def install_error_handlers(app: Flask) -> None:
    app.register_error_handler(Problem, _handle_problem)
    app.register_error_handler(ValidationError, _handle_validation)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
