"""The committed OpenAPI documents match the code, and every route is documented with schemas."""
from __future__ import annotations

import json

import pytest

from shared.apidocs import DOCS, SERVICES, openapi_document

WRITE_METHODS = ("post", "put", "patch")


@pytest.mark.parametrize("service", SERVICES)
def test_committed_document_matches_the_code(service):
    committed = json.loads((DOCS / f"{service}.json").read_text())
    assert committed == openapi_document(service), (
        f"docs/openapi/{service}.json is stale: run `python -m shared.apidocs`"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_v1_route_has_responses_and_write_routes_have_a_body_schema(service):
    document = openapi_document(service)
    routes = {path: ops for path, ops in document["paths"].items() if path.startswith("/v1/")}
    assert routes
    for path, operations in routes.items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation.get("responses"), f"{method.upper()} {path} documents no response"
            success = [code for code in operation["responses"] if code.startswith("2")]
            assert success, f"{method.upper()} {path} documents no success response"
            if method in WRITE_METHODS and not path.endswith(("/read", "/acknowledge", "/enable")):
                assert "requestBody" in operation, f"{method.upper()} {path} documents no body schema"
