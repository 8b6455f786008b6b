"""The OpenAPI document lists every route the goals API serves, with its schemas."""
from __future__ import annotations

import re

import pytest
import requests

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
