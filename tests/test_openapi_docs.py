"""The committed OpenAPI documents match the code, are valid OpenAPI, and say what the code does:
every operation has an id, examples that fit their schemas, its problem+json answers and the
headers the services set."""
from __future__ import annotations

import copy
import json
from functools import cache
from typing import Iterator

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_openapi
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from shared.apidocs import DOCS, SERVICES, openapi_document
from shared.config import load_settings
from shared.errors import PROBLEM_MIMETYPE
from shared.fhir_errors import FHIR_MIMETYPE, ISSUE_TYPES
from shared.guards import NO_STORE_PREFIXES

WRITE_METHODS = ("post", "put", "patch")
PROBLEM = {"$ref": "#/components/schemas/Problem"}


@cache
def document(service: str) -> dict:
    return openapi_document(service)


def operations(spec: dict) -> Iterator[tuple[str, str, dict]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield method, path, operation


def media_types(operation: dict) -> Iterator[tuple[str, str, dict]]:
    """(where, content type, media type object) of the request body and of every response."""
    for mimetype, media in operation.get("requestBody", {}).get("content", {}).items():
        yield "request", mimetype, media
    for status, response in operation["responses"].items():
        for mimetype, media in response.get("content", {}).items():
            yield status, mimetype, media


def schema_errors(spec: dict, schema: dict, instance) -> list[str]:
    validator = OAS30Validator({"allOf": [schema], "components": spec["components"]})
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(instance)]


@pytest.mark.parametrize("service", SERVICES)
def test_committed_document_matches_the_code(service):
    committed = json.loads((DOCS / f"{service}.json").read_text())
    assert committed == document(service), f"docs/openapi/{service}.json is stale: run `python -m shared.apidocs`"


@pytest.mark.parametrize("service", SERVICES)
def test_document_is_valid_openapi(service):
    validate_openapi(document(service))


def test_an_invalid_document_is_refused_by_the_validator():
    broken = copy.deepcopy(document("goals"))
    broken["paths"]["/v1/goals"]["post"]["responses"]["201"]["content"]["application/json"]["schema"] = {"type": "text"}
    with pytest.raises(OpenAPIValidationError):
        validate_openapi(broken)


@pytest.mark.parametrize("service", SERVICES)
def test_every_v1_route_has_responses_and_write_routes_have_a_body_schema(service):
    routes = [(method, path, op) for method, path, op in operations(document(service)) if path.startswith("/v1/")]
    assert routes
    for method, path, operation in routes:
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert success, f"{method.upper()} {path} documents no success response"
        if method in WRITE_METHODS and not path.endswith(("/read", "/acknowledge", "/enable")):
            assert "requestBody" in operation, f"{method.upper()} {path} documents no body schema"


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_has_a_unique_operation_id(service):
    ids = [operation.get("operationId") for _, _, operation in operations(document(service))]
    assert None not in ids
    assert len(ids) == len(set(ids))


def example_gaps(spec: dict) -> tuple[list[str], list[str], int]:
    """The bodies without an example and those whose example does not fit, each named by its
    operationId, path and media type; and how many were checked. A binary body (a PNG) has no
    example in JSON."""
    missing, misfits, checked = [], [], 0
    for method, path, operation in operations(spec):
        for where, mimetype, media in media_types(operation):
            named = f"{operation['operationId']} ({method.upper()} {path}) {where} {mimetype}"
            if media.get("schema", {}).get("format") == "binary":
                continue
            if "example" not in media:
                missing.append(named)
            elif errors := schema_errors(spec, media.get("schema", {}), media["example"]):
                misfits.append(f"{named}: {errors}")
            checked += 1
    return missing, misfits, checked


@pytest.mark.parametrize("service", SERVICES)
def test_every_body_of_every_operation_has_an_example_that_fits_its_schema(service):
    """Derived from the live app: a new route, or a new answer of one, without an example in
    services/<service>/api/examples.json is named here."""
    spec = document(service)
    missing, misfits, checked = example_gaps(spec)
    assert not missing, f"no example in services/{service}/api/examples.json for: " + "; ".join(missing)
    assert not misfits, "examples that do not fit their schema: " + "; ".join(misfits)
    for name, response in spec["components"]["responses"].items():
        for media in response["content"].values():
            assert schema_errors(spec, media["schema"], media["example"]) == [], name
    for name, header in spec["components"]["headers"].items():
        if "example" in header:
            assert schema_errors(spec, header["schema"], header["example"]) == [], name
    assert checked > 3 * len(spec["paths"])


def test_a_body_without_an_example_is_named_by_its_operation():
    spec = copy.deepcopy(document("goals"))
    del spec["paths"]["/v1/goals/{goal_id}"]["get"]["responses"]["200"]["content"]["image/svg+xml"]["example"]
    missing, misfits, _ = example_gaps(spec)
    assert missing == ["get_goal (GET /v1/goals/{goal_id}) 200 image/svg+xml"] and misfits == []


def test_an_example_that_does_not_fit_its_schema_is_caught():
    spec = document("goals")
    goal = spec["paths"]["/v1/goals/{goal_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert schema_errors(spec, goal["schema"], goal["example"]) == []
    assert schema_errors(spec, goal["schema"], {**goal["example"], "status": "finished"})
    assert schema_errors(spec, goal["schema"], {**goal["example"], "diagnosis": "F32.1"})


@pytest.mark.parametrize("service", SERVICES)
def test_request_examples_are_accepted_by_the_routes_own_schemas(service):
    """Beyond the JSON schema: the marshmallow schema that validates the route's body loads the
    example (cross-field rules included), so a caller who copies it gets past validation."""
    config = __import__(f"services.{service}.config", fromlist=["OPTIONS"])
    app_module = __import__(f"services.{service}.app", fromlist=["create_app"])
    app = app_module.create_app(settings=load_settings(service, {"JWT_SECRET": "x" * 40, "LOG_LEVEL": "WARNING"}, config.OPTIONS))
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    schemas = {name: key[0] for key, name in api.ma_plugin.converter.refs.items()}
    loaded = 0
    for method, path, operation in operations(document(service)):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            schemas[media["schema"]["$ref"].rsplit("/", 1)[1]]().load(media["example"])
            loaded += 1
    assert loaded >= 4


@pytest.mark.parametrize("service", SERVICES)
def test_errors_are_documented_as_the_problems_the_code_sends(service):
    spec = document(service)
    assert "Error" not in spec["components"]["schemas"], "flask-smorest's JSON error is never sent"
    default = spec["components"]["responses"]["Problem"]
    assert default["content"][PROBLEM_MIMETYPE]["schema"] == PROBLEM
    for method, path, operation in operations(spec):
        if path.startswith("/fhir/"):
            continue  # their errors are OperationOutcomes: the next test
        assert operation["responses"]["default"] == {"$ref": "#/components/responses/Problem"}, (method, path)
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert list(response["content"]) == [PROBLEM_MIMETYPE], (method, path, status)
        if "401" in operation["responses"]:
            assert "503" in operation["responses"], f"{method.upper()} {path}: a token check can answer 503"
    problem = spec["components"]["schemas"]["Problem"]
    assert problem["additionalProperties"] is True, "RFC 9457 problems may carry extension members"


@pytest.mark.parametrize("service", ["goals", "questionnaires"])
def test_fhir_errors_are_documented_as_the_operation_outcomes_the_code_sends(service):
    spec = document(service)
    fhir = [(method, path, operation) for method, path, operation in operations(spec) if path.startswith("/fhir/")]
    assert len(fhir) >= 3
    default = spec["components"]["responses"]["OperationOutcome"]["content"][FHIR_MIMETYPE]
    assert default["example"]["resourceType"] == "OperationOutcome"
    for method, path, operation in fhir:
        assert operation["responses"]["default"] == {"$ref": "#/components/responses/OperationOutcome"}, path
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert list(response["content"]) == [FHIR_MIMETYPE], (method, path, status)
                media = response["content"][FHIR_MIMETYPE]
                assert media["schema"] == {"$ref": "#/components/schemas/OperationOutcome"}, (path, status)
                assert media["example"]["issue"][0]["code"] == ISSUE_TYPES[int(status)], (path, status)
        if "401" in operation["responses"]:
            assert "503" in operation["responses"], f"{method.upper()} {path}: a token check can answer 503"


def test_a_refused_status_change_is_documented_with_allowed_and_current():
    conflict = document("goals")["paths"]["/v1/goals/{goal_id}/status"]["post"]["responses"]["409"]
    example = conflict["content"][PROBLEM_MIMETYPE]["example"]
    assert example["current"] in example["allowed"] or example["allowed"]
    assert {"allowed", "current"} <= set(document("goals")["components"]["schemas"]["Problem"]["properties"])


@pytest.mark.parametrize("service", SERVICES)
def test_response_headers_the_code_sets_are_documented(service):
    spec = document(service)
    assert {"X-Request-ID", "Cache-Control", "Idempotent-Replayed", "WWW-Authenticate", "Retry-After"} <= set(
        spec["components"]["headers"]
    )
    replayable = 0
    for method, path, operation in operations(spec):
        assert "x-stepwise-replayable" not in operation
        names = {(parameter["in"], parameter["name"]) for parameter in operation["parameters"]}
        assert ("header", "X-Request-ID") in names, (method, path)
        takes_key = ("header", "Idempotency-Key") in names
        for status, response in operation["responses"].items():
            if status == "default":
                continue
            headers = response["headers"]
            assert "X-Request-ID" in headers, (method, path, status)
            assert ("Cache-Control" in headers) == path.startswith(NO_STORE_PREFIXES), (method, path, status)
            if status == "401":
                assert "WWW-Authenticate" in headers
            if status == "503":
                assert ("Retry-After" in headers) == (path != "/readyz"), "only a token check asks to retry later"
            if status.startswith("2") and takes_key:
                assert "Idempotent-Replayed" in headers, (method, path)
                replayable += 1
    assert replayable >= 1
