"""The OpenAPI document lists every route the goals API serves, with its schemas."""
from __future__ import annotations

import re

import pytest
import requests
from openapi_schema_validator import OAS30Validator

from services.goals.app import create_app

pytestmark = pytest.mark.integration

BODY_METHODS = {"post", "put", "patch"}


def served_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routes |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_every_route_is_documented_with_its_schemas(api, settings):
    document = requests.get(api.base + "/openapi.json", timeout=10).json()
    routes = served_routes(create_app(settings=settings))
    # the goals' own, the shared access audit's GET /v1/audit, and the shared data rights (export, erasure, its status)
    assert len(routes) == 14 + 1 + 3
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations
                  if method != "parameters"}
    assert routes <= documented, routes - documented

    schemas = document["components"]["schemas"]
    for method, path in routes:
        operation = document["paths"][path][method]
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert len(success) == 1, (method, path)
        reference = operation["responses"][success[0]]["content"]["application/json"]["schema"]["$ref"]
        assert reference.split("/")[-1] in schemas
        assert "401" in operation["responses"], (method, path)
        assert operation["responses"]["401"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
        if method in BODY_METHODS:
            body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert body.split("/")[-1] in schemas, (method, path)
            assert {"400", "413", "415", "422"} <= set(operation["responses"]), (method, path)

    create = document["paths"]["/v1/goals"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])
    assert document["paths"]["/v1/goals/{goal_id}/status"]["post"]["responses"]["409"]
    goal = schemas["Goal"]["properties"]
    assert {"status", "smart", "progress", "milestones", "revisions", "attainment", "overdue"} <= set(goal)
    assert schemas["Measure"]["properties"]["kind"]["enum"] == ["count", "duration", "scale", "boolean", "instrument"]


def test_a_refused_status_change_is_the_problem_the_document_describes(api):
    """The 409 carries ``allowed`` and ``current``: the documented problem schema must accept them."""
    document = requests.get(api.base + "/openapi.json", timeout=10).json()
    goal = api.create()
    path = f"/v1/goals/{goal['id']}/status"
    assert api.post(path, {"status": "on_hold", "reason": "Travelling"}).status_code == 200

    refused = api.post(path, {"status": "on_hold"})

    assert refused.status_code == 409 and refused.headers["Content-Type"] == "application/problem+json"
    assert {"allowed", "current"} <= set(refused.json())
    documented = document["paths"]["/v1/goals/{goal_id}/status"]["post"]["responses"]["409"]
    schema = {"allOf": [documented["content"]["application/problem+json"]["schema"]], "components": document["components"]}
    assert [error.message for error in OAS30Validator(schema).iter_errors(refused.json())] == []
    for header in documented["headers"]:
        assert header in refused.headers, header
