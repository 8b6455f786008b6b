"""The CloudEvents 1.0 envelope (structured JSON mode) that every Stepwise event travels in.

``type`` is ``stepwise.<routing key>.v1``; the routing key on the ``stepwise.events`` topic
exchange is the event name (``goal.created``). ``correlationid`` is a CloudEvents extension
attribute carrying the request id that caused the event; ``traceparent`` and ``tracestate``
(the CloudEvents distributed-tracing extension) carry the trace context the event was raised in,
when tracing is on (``shared.tracing``). They are stored with the event in the outbox, so the
relay and the consumers continue the trace of the request that raised it.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Mapping

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from shared import tracing
from shared.clock import rfc3339, utcnow
from shared.events.registry import ANY_SERVICE, REGISTRY, SERVICES, Time
from shared.logs import correlation_id

SPECVERSION = "1.0"
TYPE_PREFIX = "stepwise."
TYPE_SUFFIX = ".v1"
CONTENT_TYPE = "application/cloudevents+json"


def event_type(name: str) -> str:
    return f"{TYPE_PREFIX}{name}{TYPE_SUFFIX}"


def routing_key(event: Mapping[str, Any]) -> str:
    """The event name from its ``type``: ``stepwise.goal.created.v1`` → ``goal.created``."""
    kind = event["type"]
    if not (kind.startswith(TYPE_PREFIX) and kind.endswith(TYPE_SUFFIX)):
        raise ValueError(f"not a Stepwise event type: {kind}")
    return kind[len(TYPE_PREFIX) : -len(TYPE_SUFFIX)]


def source_for(service: str) -> str:
    return f"/stepwise/{service}"


def new_event(
    name: str,
    *,
    tenant: str,
    subject: str,
    data: Mapping[str, Any],
    time: datetime | None = None,
    event_id: str | None = None,
    service: str | None = None,
) -> dict[str, Any]:
    """Build an event of a registered type; its data must be what the registry defines for it
    (``EventSpec.build``: a ValueError otherwise).

    ``event_id`` may be given to make an event deterministic (e.g. derived from a claim), so that
    raising it twice yields one id that consumers de-duplicate. ``service`` names the raiser of an
    event that every service raises (the registry's ``ANY_SERVICE``), for its ``source``.
    """
    spec = REGISTRY.get(name)
    if spec is None:
        raise KeyError(f"unknown event type {name!r}; add it to shared/events/registry.py")
    if (spec.service == ANY_SERVICE) != (service is not None) or service not in (None, *SERVICES):
        raise ValueError(f"{name} is raised by {spec.service}; service={service!r} does not fit")
    data = spec.build(data)
    event = {
        "specversion": SPECVERSION,
        "id": event_id or str(uuid.uuid4()),
        "source": source_for(service or spec.service),
        "type": event_type(name),
        "time": rfc3339(time or utcnow()),
        "subject": subject,
        "tenantid": tenant,
        "datacontenttype": "application/json",
        "data": data,
    }
    request_id = correlation_id.get()
    if request_id:
        event["correlationid"] = request_id
    event.update(tracing.carrier())
    return event


class MalformedEvent(ValueError):
    """A message that is not a Stepwise event as the registry defines it. Retrying cannot fix it,
    so the consumer dead-letters it at once (``shared.events.consumer``)."""


class CloudEventSchema(Schema):
    """The envelope a consumer accepts; anything else is malformed and goes to dead letters."""

    class Meta:
        unknown = INCLUDE

    specversion = fields.String(required=True, validate=validate.Equal(SPECVERSION))
    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    source = fields.String(required=True, validate=validate.Length(min=1))
    type = fields.String(required=True, validate=validate.Regexp(r"^stepwise\.[a-z_]+\.[a-z_]+\.v1$"))
    time = Time(required=True)
    subject = fields.String(required=True)
    tenantid = fields.String(required=True, validate=validate.Length(min=1))
    datacontenttype = fields.String(load_default="application/json")
    correlationid = fields.String()
    # Not checked: a malformed trace context starts a new trace; it never dead-letters an event.
    traceparent = fields.Raw(allow_none=True)
    tracestate = fields.Raw(allow_none=True)
    data = fields.Dict(required=True)


def parse_event(body: bytes | str) -> dict[str, Any]:
    """Decode and validate a message body: the envelope, and the data against the registry's
    definition of its type, so a handler reads the fields defined there without checking them.
    Raises ``MalformedEvent`` naming what is wrong (never quoting the data)."""
    try:
        raw = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise MalformedEvent(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise MalformedEvent("an event must be a JSON object")
    try:
        event = CloudEventSchema().load(raw)
    except ValidationError as exc:
        raise MalformedEvent(f"not a valid CloudEvent: {exc.messages}") from None
    name = routing_key(event)
    spec = REGISTRY.get(name)
    if spec is None:
        raise MalformedEvent(f"{event['type']} is not a registered event type")
    problems = spec.problems(event["data"])
    if problems:
        raise MalformedEvent(f"{name} data does not match its definition: {problems}")
    return event
