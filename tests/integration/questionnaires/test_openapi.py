"""The OpenAPI document lists every route with its request and response schemas and problems,
and the service's health endpoints answer."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

ROUTES = {
    ("/v1/instruments", "get"), ("/v1/instruments", "post"), ("/v1/instruments/{code}", "get"),
    ("/v1/responses", "get"), ("/v1/responses", "post"), ("/v1/responses/{response_id}", "get"),
    ("/v1/clients/{client_id}/scores", "get"), ("/v1/clients/{client_id}/recovery", "get"), ("/v1/outcomes", "get"),
    ("/v1/assignments", "get"), ("/v1/assignments", "post"), ("/v1/assignments/{assignment_id}", "get"),
    ("/v1/assignments/{assignment_id}/cancel", "post"),
}
BODIES = {
    ("/v1/instruments", "post"): "Instrument",
    ("/v1/responses", "post"): "ResponseIn",
    ("/v1/assignments", "post"): "AssignmentIn",
    ("/v1/assignments/{assignment_id}/cancel", "post"): "CancelIn",
}


def test_every_route_is_documented_with_its_schemas(service):
    answer = service.get("/openapi.json")
    assert answer.status_code == 200
    spec = answer.json()
    documented = {(path, method) for path, item in spec["paths"].items() for method in item if method != "parameters"}
    assert ROUTES <= documented
    schemas = spec["components"]["schemas"]
    for path, method in ROUTES:
        operation = spec["paths"][path][method]
        success = operation["responses"][next(code for code in operation["responses"] if code.startswith("2"))]
        reference = success["content"]["application/json"]["schema"]["$ref"]
        assert reference.split("/")[-1] in schemas, (path, method)
        assert "401" in operation["responses"], (path, method)
        assert operation["responses"]["401"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
        if method == "post":
            body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert body.endswith("/" + BODIES[(path, method)])
            for status in ("400", "413", "415", "422"):
                assert status in operation["responses"], (path, method, status)
    answers = schemas["ResponseIn"]["properties"]["answers"]
    assert {option["type"] for option in answers["oneOf"]} == {"array", "object"}
    assert "score" in schemas["ScoredResponse"]["properties"] and "change" in schemas["ScoredResponse"]["properties"]
    codes = schemas["Instrument"]["properties"]["codes"]
    assert codes["type"] == "array" and codes["items"]["$ref"].endswith("/Coding")
    assert set(schemas["Coding"]["required"]) == {"system", "code", "role"}
    assert "codes" in schemas["InstrumentView"]["properties"]
    parameters = {p["name"] for p in spec["paths"]["/v1/responses"]["get"]["parameters"]}
    assert {"client_id", "instrument", "limit", "cursor"} <= parameters


def test_health_and_metrics_answer(service):
    assert service.get("/healthz").status_code == 200
    assert service.get("/readyz").status_code == 200
    assert "stepwise_http_requests_total" in service.get("/metrics").text
