"""Every route of the three OpenAPI documents, sent every kind of bad input an attacker would try,
with and without a token: each answer is a 4xx problem+json (an OperationOutcome under /fhir/),
never a 5xx, and no traceback or error is logged. The documents (docs/openapi/*.json) are the list
of routes, so a new route is covered without touching this test."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest
import requests

from services.goals import config as goals_config
from services.goals.app import create_app as goals_app
from services.notifications import config as notifications_config
from services.notifications.app import create_app as notifications_app
from services.questionnaires import config as questionnaires_config
from services.questionnaires.app import create_app as questionnaires_app

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi"
SERVICES = {
    "goals": (goals_config, goals_app),
    "questionnaires": (questionnaires_config, questionnaires_app),
    "notifications": (notifications_config, notifications_app),
}
MAX_BODY_BYTES = 8192
BODY_METHODS = ("post", "put", "patch")
NUL_ID = "client\x00-1"
HUGE_INTEGER = "1" + "0" * 400
PAST_PYTHON_INTEGER = "9" * 4301
HUGE_FLOAT = "1e999"

# Bad bodies: (name, raw body, content type, status the guards answer with, before any token check).
BAD_BODIES: list[tuple[str, str | bytes, str, int]] = [
    ("nested 1,000 deep", "[" * 1000 + "]" * 1000, "application/json", 422),
    ("401-digit integer", f'{{"value": {HUGE_INTEGER}}}', "application/json", 422),
    ("4,301-digit integer", f'{{"value": {PAST_PYTHON_INTEGER}}}', "application/json", 422),
    ("overflowing float", f'{{"value": {HUGE_FLOAT}}}', "application/json", 422),
    ("NaN", '{"value": NaN}', "application/json", 422),
    ("NUL in a key", '{"value\\u0000": 1}', "application/json", 422),
    ("lone surrogate", '{"value": "\\ud800"}', "application/json", 422),
    ("malformed JSON", '{"value": ', "application/json", 400),
    ("not UTF-8", b'{"value": "\xff"}', "application/json", 400),
    ("not JSON content", "value=1", "text/plain", 415),
    ("too large", json.dumps({"note": "x" * MAX_BODY_BYTES}), "application/json", 413),
]
# (A 4,301-digit value makes the URL too long: 414, before any parameter is read.)
BAD_QUERY_VALUES = [
    ("401-digit integer", HUGE_INTEGER), ("4,301-digit integer", PAST_PYTHON_INTEGER),
    ("overflowing float", HUGE_FLOAT), ("NUL", NUL_ID),
]


def operations(service: str) -> Iterator[tuple[str, str, dict]]:
    document = json.loads((DOCS / f"{service}.json").read_text())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield method, path, {**operation, "document": document}


def fill(path: str, value: str = "some-id") -> str:
    return re.sub(r"\{[^}]+\}", quote(value, safe=""), path)


def id_properties(operation: dict) -> dict:
    """The body's id fields (``*_id``, ``*_ids``) set to an id holding a NUL."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = operation["document"]["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    body: dict[str, Any] = {}
    for name in schema.get("properties", {}):
        if name.endswith("_id"):
            body[name] = NUL_ID
        elif name.endswith("_ids"):
            body[name] = [NUL_ID]
    return body


def refused_in_query(parameter: dict, what: str) -> bool:
    """Whether a bad value must be refused in this query parameter: an id never holds a NUL, and a
    number or a choice is never "1e999"; a free string such as an id may well be "1e999"."""
    schema = parameter.get("schema", {})
    if what == "NUL":
        return parameter["name"].endswith("_id")
    return schema.get("type") in ("integer", "number", "boolean") or "enum" in schema or parameter["name"] == "cursor"


def requests_for(service: str) -> Iterator[tuple[str, str, str, dict, int | str]]:
    """(what, method, path, requests keyword arguments, the status expected whoever calls: a
    number, "4xx", or "not 5xx" where the input may be fine)."""
    for method, path, operation in operations(service):
        parameters = operation.get("parameters", [])
        for parameter in parameters:
            if parameter["in"] == "path":
                yield f"NUL in {parameter['name']}", method, fill(path, NUL_ID), {}, 404
            if parameter["in"] == "query":
                for what, value in BAD_QUERY_VALUES:
                    expected = "4xx" if refused_in_query(parameter, what) else "not 5xx"
                    yield f"{what} in ?{parameter['name']}", method, fill(path), {"params": {parameter["name"]: value}}, expected
        if method in BODY_METHODS:
            for what, body, content_type, status in BAD_BODIES:
                data = body if isinstance(body, bytes) else body.encode()
                kwargs = {"data": data, "headers": {"Content-Type": content_type}}
                yield what, method, fill(path), kwargs, status
            ids = id_properties(operation)
            if ids:
                yield "NUL in body ids", method, fill(path), {"json": ids}, "4xx"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_no_bad_input_gets_a_5xx_or_a_traceback(harness, token, capfd, service):
    config, create_app = SERVICES[service]
    settings = harness.settings(service, config.OPTIONS, MAX_BODY_BYTES=str(MAX_BODY_BYTES), LOG_LEVEL="INFO")
    url = harness.serve(create_app(settings=settings))
    callers = {"no token": {}, "admin": {"Authorization": f"Bearer {token('admin', 'admin-1')}"}}
    failures, sent = [], 0
    with requests.Session() as session:
        for what, method, path, kwargs, expected in requests_for(service):
            for caller, authorization in callers.items():
                headers = {**kwargs.get("headers", {}), **authorization}
                answer = session.request(method, url + path, **{**kwargs, "headers": headers}, timeout=30)
                sent += 1
                if not _as_expected(answer, expected, path):
                    failures.append(f"{method.upper()} {path} {what} ({caller}): {answer.status_code} {answer.text[:200]}")
                elif "no-store" not in answer.headers.get("Cache-Control", "") and path.startswith(("/v1/", "/fhir/")):
                    failures.append(f"{method.upper()} {path} {what} ({caller}): no Cache-Control: no-store")
    assert not failures, "\n".join(failures)
    assert sent > 100
    logged = capfd.readouterr().err
    assert "Traceback" not in logged
    assert '"level": "ERROR"' not in logged


def _is_problem(answer: requests.Response, path: str) -> bool:
    """A problem+json, or under /fhir/ its FHIR form, an OperationOutcome."""
    if path.startswith("/fhir/"):
        return (answer.headers.get("Content-Type") == "application/fhir+json"
                and answer.json().get("resourceType") == "OperationOutcome")
    return answer.headers.get("Content-Type") == "application/problem+json"


def _as_expected(answer: requests.Response, expected: int | str, path: str) -> bool:
    problem = _is_problem(answer, path)
    if expected == "not 5xx":
        return answer.status_code < 400 or (answer.status_code < 500 and problem)
    if expected == "4xx":
        return 400 <= answer.status_code < 500 and problem
    return answer.status_code == expected and problem
