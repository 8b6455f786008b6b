"""The OpenAPI documents: flask-smorest's, completed so that they say what the code really does.

    python -m shared.apidocs        writes each service's document to docs/openapi/<service>.json

``ApiDocs`` is an apispec plugin every service's app uses (``shared.app``). To every operation it
adds:

- an ``operationId``: the view function's name (unique within a service; shown on ``/docs``);
- its problem+json answers with an example each: the statuses the route documents
  (``shared.api.problems``), ``503`` with ``Retry-After`` on every authenticated route (the
  identity provider's keys could not be fetched), and any other as ``default`` (414, 431, 500:
  ``shared.guards``, ``shared.errors``). flask-smorest's own ``default`` error, JSON of another
  shape, is never sent and is left out. Under ``/fhir/`` the same answers are FHIR
  OperationOutcomes (``shared.fhir_errors``), documented and exemplified as such;
- the headers the code sets: ``X-Request-ID`` on every answer (and taken from the request),
  ``Cache-Control: no-store`` under ``/v1``, ``Idempotent-Replayed`` on a create that answers a
  repeat with its first record (``shared.api.replayable``), ``WWW-Authenticate`` on 401 and
  ``Retry-After`` on the 503 of a token check;
- examples of its request and success bodies and of its problems: what the service really
  answered (its ``Examples``: ``response`` for a JSON answer, ``media`` by media type for
  another, such as a chart's SVG), or, for a problem raised by shared code, that code's own words.

The committed documents are compared with the code, validated with openapi-spec-validator, and
each example is checked against its schema (``tests/test_openapi_docs.py``). Each running
service also serves its own at ``/openapi.json``.
"""
from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from apispec import APISpec, BasePlugin

from shared.api import JSON_MEDIA_TYPE, NOT_ACCEPTABLE, NOT_ACCEPTABLE_ERRORS, REPLAYABLE, REPLAYED_HEADER
from shared.config import Settings, load_settings
from shared.errors import PROBLEM_MIMETYPE, TITLES, problem_body
from shared.fhir_errors import FHIR_MIMETYPE, FHIR_PREFIX, operation_outcome
from shared.guards import MAX_JSON_DEPTH, MAX_TARGET_BYTES, NO_STORE_PREFIXES
from shared.idempotency import HEADER as IDEMPOTENCY_HEADER
from shared.logs import REQUEST_ID_HEADER

SERVICES = ("goals", "questionnaires", "notifications")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "openapi"
# Generating a document reads no secret and opens no connection; the settings only need to load.
_PLACEHOLDER_SECRET = "openapi-generation-needs-no-real-secret"
_SCHEMAS = "#/components/schemas/"
# The media types whose success example is an operation's ``response`` in its Examples.
JSON_MIMETYPES = (JSON_MEDIA_TYPE, FHIR_MIMETYPE)

HEADERS = {
    REQUEST_ID_HEADER: {
        "description": "The request's correlation id: the caller's own (1 to 128 printable characters) or a new "
        "one. The service's log lines and the events the request raises carry it.",
        "schema": {"type": "string", "maxLength": 128},
        "example": "5f0c6a3e9b2d4c1f8e7a6b5c4d3e2f10",
    },
    "Cache-Control": {
        "description": "Answers under /v1 hold health data: no cache may keep them.",
        "schema": {"type": "string", "enum": ["no-store"]},
    },
    REPLAYED_HEADER: {
        "description": f"Present on a repeated create (the same {IDEMPOTENCY_HEADER} and body; for an instrument, "
        "the same definition): this is the first request's record, and nothing new was created.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "WWW-Authenticate": {
        "description": "The scheme to authenticate with.",
        "schema": {"type": "string", "enum": ['Bearer realm="stepwise"']},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
        "example": 30,
    },
}
REQUEST_ID_PARAMETER = {
    "in": "header",
    "name": REQUEST_ID_HEADER,
    "required": False,
    "schema": HEADERS[REQUEST_ID_HEADER]["schema"],
    "description": "A correlation id of the caller's, kept when it is 1 to 128 printable characters "
    "(otherwise a new one is made); it is answered in the same header.",
}
# Examples of the problems shared code answers, with its own words (a service's Examples may give
# its own for a status, for all its operations or for one).
PROBLEM_EXAMPLES = {
    400: problem_body(400, "The body is not valid JSON", errors={"body": ["Expecting value (line 1, column 1)."]}),
    401: problem_body(401, "Not authenticated: the token has expired"),
    403: problem_body(403, "A client may only act on its own records"),
    404: problem_body(404, "The requested URL was not found on the server."),
    406: problem_body(406, NOT_ACCEPTABLE, errors=NOT_ACCEPTABLE_ERRORS),
    409: problem_body(409, f"This {IDEMPOTENCY_HEADER} was already used with a different body"),
    # With MAX_BODY_BYTES at its default.
    413: problem_body(413, "The body is larger than 1048576 bytes", errors={"body": ["At most 1048576 bytes."]}),
    415: problem_body(415, "Send the body as application/json, not text/plain"),
    422: problem_body(
        422, "Invalid value for: limit", errors={"limit": ["Must be greater than or equal to 1 and less than or equal to 200."]}
    ),
    503: problem_body(
        503, "The identity provider's keys could not be fetched to check the token; try again shortly"
    ),
}
BODY_PROBLEM_EXAMPLE = problem_body(
    422, "Invalid value for: body", errors={"body": [f"Arrays and objects nest at most {MAX_JSON_DEPTH} levels deep."]}
)
DEFAULT_PROBLEM_EXAMPLE = problem_body(
    414, "The URL is too long", errors={"url": [f"At most {MAX_TARGET_BYTES} bytes of path and query."]}
)


@dataclass(frozen=True)
class Examples:
    """A service's examples, answers its API really gave (``services/<name>/api/examples.json``).

    ``operations`` maps an operationId to its ``request`` body, its success ``response`` body and
    its own ``problems`` by status; ``problems`` holds the service's for any of its operations.
    """

    operations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    problems: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "Examples":
        data = json.loads(path.read_text())
        return cls(data["operations"], data.get("problems", {}))


@dataclass(frozen=True)
class ErrorFormat:
    """How a route answers an error: as problem+json, or under ``/fhir/`` as an OperationOutcome
    saying the same (``shared.fhir``). ``example`` turns a problem example into this format's."""

    mimetype: str
    schema: str
    response: str
    description: str
    example: Callable[[Mapping[str, Any]], Mapping[str, Any]]


PROBLEM_FORMAT = ErrorFormat(
    PROBLEM_MIMETYPE, "Problem", "Problem", "Any other problem (e.g. 414, 431, 500), as application/problem+json",
    lambda problem: problem,
)
FHIR_FORMAT = ErrorFormat(
    FHIR_MIMETYPE, "OperationOutcome", "OperationOutcome",
    f"Any other error (e.g. 414, 431, 500), as an OperationOutcome in {FHIR_MIMETYPE}",
    lambda problem: operation_outcome(problem["status"], problem.get("detail"), problem.get("errors")),
)


def error_format(path: str) -> ErrorFormat:
    return FHIR_FORMAT if path == FHIR_PREFIX or path.startswith(FHIR_PREFIX + "/") else PROBLEM_FORMAT


class ApiDocs(BasePlugin):
    """Completes each operation as the module's docstring says."""

    def __init__(self, examples: Examples):
        self.examples = examples
        self.spec: APISpec | None = None
        self._default_responses: set[str] = set()

    def init_spec(self, spec: APISpec) -> None:
        self.spec = spec
        for name, header in HEADERS.items():
            spec.components.header(name, header)

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        rule = kwargs["rule"]
        name = rule.endpoint.rsplit(".", 1)[-1]
        errors = error_format(path or "")
        self._default_response(errors)
        for method, operation in (operations or {}).items():
            operation["operationId"] = name if len(operations) == 1 else f"{name}_{method}"
            # Inline, not a $ref: readers of the documents find every parameter's name and place.
            operation.setdefault("parameters", []).append(dict(REQUEST_ID_PARAMETER))
            responses = operation.setdefault("responses", {})
            authenticated = operation.get("security") != [] and any(str(status) == "401" for status in responses)
            if authenticated:
                responses.setdefault("503", _unavailable_keys(errors))
            for status, response in responses.items():
                self._complete(operation["operationId"], int(status), response, operation, path or "", errors)
            responses["default"] = {"$ref": f"#/components/responses/{errors.response}"}
            self._request_example(operation["operationId"], operation)
            operation.pop(REPLAYABLE, None)

    def _default_response(self, errors: ErrorFormat) -> None:
        """The ``default`` answer of the format's operations, added with the first of them (a
        service without FHIR routes has no OperationOutcome schema to refer to)."""
        if errors.response in self._default_responses:
            return
        self._default_responses.add(errors.response)
        self.spec.components.response(errors.response, {
            "description": errors.description,
            "content": {errors.mimetype: {"schema": {"$ref": _SCHEMAS + errors.schema},
                                          "example": errors.example(DEFAULT_PROBLEM_EXAMPLE)}},
            "headers": {REQUEST_ID_HEADER: _header(REQUEST_ID_HEADER)},
        })

    def _complete(
        self, operation_id: str, status: int, response: dict, operation: dict, path: str, errors: ErrorFormat
    ) -> None:
        headers = response.setdefault("headers", {})
        headers[REQUEST_ID_HEADER] = _header(REQUEST_ID_HEADER)
        if path.startswith(NO_STORE_PREFIXES):
            headers["Cache-Control"] = _header("Cache-Control")
        if status == 401:
            headers["WWW-Authenticate"] = _header("WWW-Authenticate")
        if operation.get(REPLAYABLE) and 200 <= status < 300:
            headers[REPLAYED_HEADER] = _header(REPLAYED_HEADER)
        own = self.examples.operations.get(operation_id, {})
        for mimetype, media in response.get("content", {}).items():
            if status >= 400 and mimetype == errors.mimetype:
                problem = self._problem_example(operation_id, status, "requestBody" in operation)
                media.setdefault("example", errors.example(problem))
            elif 200 <= status < 300 and mimetype in own.get("media", {}):
                media.setdefault("example", own["media"][mimetype])
            elif 200 <= status < 300 and mimetype in JSON_MIMETYPES and "response" in own:
                media.setdefault("example", own["response"])

    def _request_example(self, operation_id: str, operation: dict) -> None:
        if "request" in self.examples.operations.get(operation_id, {}):
            for media in operation.get("requestBody", {}).get("content", {}).values():
                media.setdefault("example", self.examples.operations[operation_id]["request"])

    def _problem_example(self, operation_id: str, status: int, has_body: bool) -> Mapping[str, Any]:
        shared = {**PROBLEM_EXAMPLES, **({422: BODY_PROBLEM_EXAMPLE} if has_body else {})}
        own = self.examples.operations.get(operation_id, {}).get("problems", {})
        for examples in (own, self.examples.problems):
            if str(status) in examples:
                return examples[str(status)]
        return shared[status]


def _header(name: str) -> dict:
    return {"$ref": f"#/components/headers/{name}"}


def _unavailable_keys(errors: ErrorFormat) -> dict:
    """The 503 of a token check when the identity provider's keys cannot be fetched (shared.auth),
    which an audited route also answers when the access cannot be recorded (shared.audit)."""
    return {
        "description": f"{TITLES[503]}: the token could not be checked (the identity provider's keys could not "
        "be fetched) or, on a route that reads or changes a client's records, the access could not be recorded "
        "in the audit; try again after Retry-After seconds",
        "content": {errors.mimetype: {"schema": {"$ref": _SCHEMAS + errors.schema}}},
        "headers": {"Retry-After": _header("Retry-After")},
    }


def default_settings(service: str) -> Settings:
    """The service's settings with every default (none read from the environment): the documents
    describe a deployment that changes nothing."""
    config = importlib.import_module(f"services.{service}.config")
    return load_settings(service, {"JWT_SECRET": _PLACEHOLDER_SECRET, "LOG_LEVEL": "WARNING"}, config.OPTIONS)


def openapi_document(service: str) -> dict:
    app_module = importlib.import_module(f"services.{service}.app")
    return app_module.create_app(settings=default_settings(service)).test_client().get("/openapi.json").get_json()


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        path = DOCS / f"{service}.json"
        path.write_text(json.dumps(openapi_document(service), indent=2, sort_keys=True) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
