"""FHIR R4 (4.0.1) read and search, the parts every service shares.

A service serves its records as FHIR resources under ``/fhir/R4`` beside its ``/v1`` API, with
the same bearer tokens, tenant and client scope (its FHIR routes call its own actions). What is
common lives here: the blueprint (``fhir_blueprint``, with ``GET /fhir/R4/metadata``), the search
parameters every search takes (``SearchQuery``, ``PatientSearchQuery``), ``searchset`` Bundles
with paging links, the ``application/fhir+json`` answer, and errors as ``OperationOutcome``.

Errors are raised as everywhere else (``shared.errors.Problem``, marshmallow validation, the
guards, the token check); an after-request hook turns every problem+json answered under
``/fhir/`` into an ``OperationOutcome`` with the same status, so no error path can answer a FHIR
client in another format.

Search paging: ``_count`` (1-200, default 50) and ``_cursor``, the opaque cursor of the ``/v1``
lists, which the Bundle's ``next`` link carries. ``_lastUpdated`` takes FHIR date prefixes
(``eq`` by default, ``ge``, ``gt``, ``le``, ``lt``), repeated to give a range; a date or time
without a zone is read as UTC.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import urlencode

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from shared.app import service_context
from shared.auth import check_client_access, current_principal
from shared.clock import rfc3339
from shared.errors import PROBLEM_MIMETYPE, TITLES
from shared.fhir_errors import FHIR_MIMETYPE, FHIR_PREFIX, OperationOutcomeSchema, operation_outcome
from shared.paging import MAX_LIMIT
from shared.schemas import Id

FHIR_VERSION = "4.0.1"
# Stepwise's own code systems, extensions and questionnaires: the .invalid domain says that they
# are not published anywhere (the same base as the instruments' own codes, shared/instruments).
STEPWISE_FHIR = "https://stepwise.invalid/fhir"
DEFAULT_COUNT = 50
JSON_FORMATS = ("json", FHIR_MIMETYPE, "application/json")
# A questionnaire score as a Quantity: LOINC gives {score} as the example unit of its score
# codes (e.g. its page of 44261-6, the PHQ-9 total).
SCORE_UNIT = {"system": "http://unitsofmeasure.org", "code": "{score}", "unit": "{score}"}


# Values

def instant(moment: datetime) -> str:
    """A FHIR ``instant``: UTC, to the millisecond, with a ``Z``."""
    return rfc3339(moment)


def reference(resource_type: str, resource_id: str) -> dict:
    return {"reference": f"{resource_type}/{resource_id}"}


def patient(client_id: str) -> dict:
    """A client is ``Patient/<client id>`` (Stepwise serves no Patient: the EHR holds them)."""
    return reference("Patient", client_id)


def stepwise_coding(system: str, code: str, display: str | None = None) -> dict:
    """A coding in one of Stepwise's own code systems (``<STEPWISE_FHIR>/CodeSystem/<system>``)."""
    coding = {"system": f"{STEPWISE_FHIR}/CodeSystem/{system}", "code": code}
    if display:
        coding["display"] = display
    return coding


def meta(last_updated: datetime) -> dict:
    return {"lastUpdated": instant(last_updated)}


# Search parameters

_DATE = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(\d{4}(-\d{2}(-\d{2}(T.+)?)?)?)$")
_SUPPORTED_PREFIXES = ("eq", "gt", "lt", "ge", "le")


@dataclass(frozen=True)
class Bounds:
    """A range of instants, ``lower`` included and ``upper`` excluded; None leaves a side open."""

    lower: datetime | None = None
    upper: datetime | None = None

    def narrowed(self, other: "Bounds") -> "Bounds":
        lowers = [b for b in (self.lower, other.lower) if b is not None]
        uppers = [b for b in (self.upper, other.upper) if b is not None]
        return Bounds(max(lowers) if lowers else None, min(uppers) if uppers else None)

    def contains(self, moment: datetime) -> bool:
        return (self.lower is None or moment >= self.lower) and (self.upper is None or moment < self.upper)

    def condition(self) -> dict:
        """A MongoDB condition on a time field."""
        found = {}
        if self.lower is not None:
            found["$gte"] = self.lower
        if self.upper is not None:
            found["$lt"] = self.upper
        return found


def _period(value: str) -> tuple[datetime, datetime]:
    """The instants a FHIR date or dateTime of any precision stands for, ``[start, end)``."""
    if len(value) == 4:
        start = datetime(int(value), 1, 1, tzinfo=timezone.utc)
        return start, start.replace(year=start.year + 1)
    if len(value) == 7:
        start = datetime(int(value[:4]), int(value[5:7]), 1, tzinfo=timezone.utc)
        following = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        return start, following
    if len(value) == 10:
        day = date.fromisoformat(value)
        start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        return start, start + timedelta(days=1)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    # A time is as precise as its last digit; seconds are the coarsest precision a time may have.
    precision = timedelta(microseconds=1) if "." in value else timedelta(seconds=1)
    return moment, moment + precision


def date_bounds(text: str) -> Bounds:
    """The instants a FHIR date search value (``ge2026-01-31``) matches. Raises ValueError."""
    match = _DATE.match(text)
    if not match:
        raise ValueError("Give a date or time, with an optional prefix, e.g. ge2026-01-31 or lt2026-01-31T09:00:00Z.")
    prefix, value = match.group(1) or "eq", match.group(2)
    if prefix not in _SUPPORTED_PREFIXES:
        raise ValueError(f"The prefix {prefix!r} is not supported here; use one of {', '.join(_SUPPORTED_PREFIXES)}.")
    try:
        start, end = _period(value)
    except (ValueError, OverflowError):
        raise ValueError(f"{value!r} is not a valid date or time.") from None
    return {
        "eq": Bounds(start, end),
        "ge": Bounds(start, None),
        "gt": Bounds(end, None),
        "le": Bounds(None, end),
        "lt": Bounds(None, start),
    }[prefix]


class DateSearch(fields.String):
    """A date search value, loaded as its ``Bounds``."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return date_bounds(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class PatientId(Id):
    """A reference search value naming a client: ``Patient/<id>`` or the bare id."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and "/" in value:
            resource_type, _, value = value.partition("/")
            if resource_type != "Patient" or not value:
                raise ValidationError("Name a patient as Patient/<id> or <id>.")
        return super()._deserialize(value, attr, data, **kwargs)


class SearchQuery(Schema):
    """What every search takes: ``_count``, ``_cursor`` (from a ``next`` link), ``_lastUpdated``.

    A parameter the search does not support is refused (422 naming it), as FHIR's ``Prefer:
    handling=strict`` asks, never ignored: a search for one code that silently answered every
    code would be read as an answer (``searched``)."""

    count = fields.Integer(data_key="_count", load_default=DEFAULT_COUNT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(data_key="_cursor", load_default=None)
    last_updated = fields.List(DateSearch(), data_key="_lastUpdated", load_default=list)
    # Some clients name the format they want; JSON is the only one served.
    format = fields.String(data_key="_format", validate=validate.OneOf(JSON_FORMATS))

    @post_load
    def _updated(self, data, **kwargs):
        """``updated``: the ``_lastUpdated`` values together, one range (None: no filter)."""
        bounds = Bounds()
        for each in data.pop("last_updated"):
            bounds = bounds.narrowed(each)
        data["updated"] = bounds if bounds != Bounds() else None
        return data


class PatientSearchQuery(SearchQuery):
    """A search of a patient's records: ``patient`` or ``subject`` (the same here)."""

    patient = PatientId()
    subject = PatientId()

    @validates_schema
    def _one_patient(self, data, **kwargs):
        if data.get("patient") and data.get("subject") and data["patient"] != data["subject"]:
            raise ValidationError("patient and subject name different patients.", field_name="subject")


def searched(blp: Blueprint, schema: type[SearchQuery]):
    """A search route's parameters: ``schema`` loaded from the query string, unknown ones refused
    (webargs would drop them from a query string)."""
    return blp.arguments(schema, location="query", unknown=RAISE)


def patient_filter(query: Mapping[str, Any]) -> dict:
    """The ``/v1`` list filter of the patient a search names (``{"client_id": ...}``; a client
    naming another is 403), or ``{}`` for none."""
    client_id = query.get("patient") or query.get("subject")
    if client_id is None:
        return {}
    check_client_access(current_principal(), client_id)
    return {"client_id": client_id}


def updated_condition(query: Mapping[str, Any]) -> dict | None:
    """The search's ``_lastUpdated`` as a MongoDB condition on a time field (None: no filter)."""
    return query["updated"].condition() if query["updated"] else None


# Answers

def fhir_response(resource: Mapping[str, Any]) -> Response:
    return Response(json.dumps(resource), mimetype=FHIR_MIMETYPE)


def base_url() -> str:
    return request.url_root.rstrip("/") + FHIR_PREFIX


def searchset(resources: Iterable[Mapping[str, Any]], next_cursor: str | None) -> Response:
    """A searchset Bundle of ``resources`` with its ``self`` link and, when there is more, a
    ``next`` link: this search with the next page's ``_cursor``."""
    base = base_url()
    links = [{"relation": "self", "url": request.url}]
    if next_cursor is not None:
        args = [(key, value) for key, value in request.args.items(multi=True) if key != "_cursor"]
        links.append({"relation": "next", "url": f"{request.base_url}?{urlencode([*args, ('_cursor', next_cursor)])}"})
    bundle = {"resourceType": "Bundle", "type": "searchset", "link": links}
    entries = [
        {"fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}", "resource": resource, "search": {"mode": "match"}}
        for resource in resources
    ]
    if entries:  # FHIR's JSON has no empty arrays
        bundle["entry"] = entries
    return fhir_response(bundle)


def _is_fhir_request() -> bool:
    return request.path == FHIR_PREFIX or request.path.startswith(FHIR_PREFIX + "/")


def _as_operation_outcome(response: Response) -> Response:
    if not _is_fhir_request() or response.mimetype != PROBLEM_MIMETYPE:
        return response
    problem = json.loads(response.get_data())
    outcome = operation_outcome(problem["status"], problem.get("detail"), problem.get("errors"))
    response.set_data(json.dumps(outcome))
    response.mimetype = FHIR_MIMETYPE
    return response


# The blueprint and its CapabilityStatement

@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str
    documentation: str


COMMON_PARAMS = (
    SearchParam("_lastUpdated", "date", "When the resource last changed: eq (default), ge, gt, le, lt; repeat for a range."),
    SearchParam("_count", "number", f"Resources per page, 1-{MAX_LIMIT} (default {DEFAULT_COUNT}); the Bundle's next link pages on."),
)
PATIENT_PARAMS = (
    SearchParam("patient", "reference", "The client: Patient/<client id> or <client id>."),
    SearchParam("subject", "reference", "The same as patient."),
)


@dataclass(frozen=True)
class Served:
    """A resource type a service serves: read, and search with ``params``."""

    type: str
    documentation: str
    params: tuple[SearchParam, ...] = COMMON_PARAMS


def capability_statement(title: str, served: Sequence[Served], now: datetime) -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(now),
        "publisher": "Stepwise",
        "kind": "instance",
        "software": {"name": title},
        "implementation": {"description": title, "url": base_url()},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_MIMETYPE, "json"],
        "rest": [{
            "mode": "server",
            "security": {
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                         "code": "OAuth"}]}],
                "description": "A bearer JWT naming the user, the clinic (tenant) and the role, as for /v1. "
                               "Another clinic's record is not found; a client reads only its own.",
            },
            "resource": [
                {
                    "type": each.type,
                    "documentation": each.documentation,
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [
                        {"name": param.name, "type": param.type, "documentation": param.documentation}
                        for param in each.params
                    ],
                }
                for each in served
            ],
        }],
    }


def fhir_blueprint(title: str, served: Sequence[Served]) -> Blueprint:
    """The service's FHIR blueprint under ``/fhir/R4``, with its CapabilityStatement at
    ``/metadata`` (no token needed: it holds no records, and clients read it before signing in);
    its routes are added by the service. Every error under ``/fhir/`` becomes an OperationOutcome."""
    blp = Blueprint("fhir", __name__, url_prefix=FHIR_PREFIX,
                    description=f"FHIR R4 ({FHIR_VERSION}) read and search, {FHIR_MIMETYPE}.")
    blp.after_app_request(_as_operation_outcome)

    @blp.get("/metadata")
    @blp.response(200, FhirResourceSchema, content_type=FHIR_MIMETYPE,
                  description="The CapabilityStatement: what this service serves.")
    def metadata():
        """What this service serves in FHIR: resource types, interactions and search parameters."""
        return fhir_response(capability_statement(title, served, service_context().clock.now()))

    return blp


class FhirResourceSchema(Schema):
    """Any FHIR R4 resource, for the OpenAPI documents: its ``resourceType`` and the members FHIR
    defines for that type (the routes answer their own ``Response``; nothing is loaded or dumped
    through this schema)."""

    class Meta:
        unknown = INCLUDE

    resourceType = fields.String(required=True)


def documented(blp: Blueprint, description: str, *errors: int) -> Callable:
    """Document a FHIR route's answer: a resource or Bundle in ``application/fhir+json``, or an
    OperationOutcome for 401 (every FHIR route but the metadata needs a token) and ``errors``."""

    def decorate(view: Callable) -> Callable:
        for status in sorted({401, *errors}):
            view = blp.alt_response(status, schema=OperationOutcomeSchema, content_type=FHIR_MIMETYPE,
                                    description=TITLES[status])(view)
        return blp.response(200, FhirResourceSchema, content_type=FHIR_MIMETYPE, description=description)(view)

    return decorate
