"""How the FHIR routes (``shared.fhir``) answer an error: an ``OperationOutcome`` saying what the
problem+json answer of any other route says. Apart from ``shared.fhir`` so that the OpenAPI
documents (``shared.apidocs``) can describe these answers without the FHIR routes' imports."""
from __future__ import annotations

from typing import Mapping, Sequence

from marshmallow import Schema, fields

FHIR_MIMETYPE = "application/fhir+json"
FHIR_PREFIX = "/fhir/R4"
# The IssueType of an OperationOutcome for each HTTP status we answer (FHIR R4 issue-type).
ISSUE_TYPES = {
    400: "structure", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported", 409: "conflict",
    413: "too-long", 414: "too-long", 415: "not-supported", 422: "invalid", 429: "throttled", 431: "too-long",
    500: "exception", 503: "transient",
}


def operation_outcome(status: int, detail: str | None, errors: Mapping[str, Sequence[str]] | None) -> dict:
    """An OperationOutcome saying what a problem says: one issue per wrong field (its name first)."""
    code = ISSUE_TYPES.get(status, "processing")
    issues = [
        {"severity": "error", "code": code, "diagnostics": f"{field}: {' '.join(messages)}"}
        for field, messages in sorted((errors or {}).items())
    ]
    return {
        "resourceType": "OperationOutcome",
        "issue": issues or [{"severity": "error", "code": code, "diagnostics": detail or "Error"}],
    }


class IssueSchema(Schema):
    severity = fields.String()
    code = fields.String()
    diagnostics = fields.String()


class OperationOutcomeSchema(Schema):
    resourceType = fields.Constant("OperationOutcome")
    issue = fields.List(fields.Nested(IssueSchema))
