"""The AsyncAPI 3.0 document of Stepwise's events, generated from the event registry.

    python -m shared.asyncapi > docs/asyncapi.json

A test regenerates it and compares with the committed file, and validates it against the
official AsyncAPI 3.0.0 JSON schema, so the published event contract cannot drift from the code.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared.config import DEFAULT_EXCHANGE
from shared.events.envelope import CONTENT_TYPE, SPECVERSION, event_type, source_for
from shared.events.registry import ANY_SERVICE, REGISTRY, SERVICES

VERSION = "1.0.0"


def _camel(name: str) -> str:
    head, *rest = name.replace(".", "_").split("_")
    return head + "".join(part.title() for part in rest)


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` becomes JSON Schema's ``type: [..., "null"]`` (AsyncAPI uses JSON Schema)."""
    if isinstance(node, dict):
        converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
        if node.get("nullable") and isinstance(node.get("type"), str):
            converted["type"] = [node["type"], "null"]
        return converted
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    return node


def _data_schemas() -> dict[str, Any]:
    spec = APISpec("stepwise-events", VERSION, "3.0.3", plugins=[MarshmallowPlugin()])
    for spec_entry in REGISTRY.values():
        name = spec_entry.data_schema.__name__
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=spec_entry.data_schema)
    schemas: dict[str, Any] = _json_schema(spec.to_dict()["components"]["schemas"])
    return schemas


def _envelope(name: str, data_ref: str) -> dict[str, Any]:
    spec = REGISTRY[name]
    return {
        "type": "object",
        "description": f"CloudEvents {SPECVERSION} envelope (structured JSON mode) of `{name}`.",
        "required": ["specversion", "id", "source", "type", "time", "subject", "tenantid", "data"],
        "properties": {
            "specversion": {"type": "string", "const": SPECVERSION},
            "id": {"type": "string", "format": "uuid", "description": "Unique per event; consumers de-duplicate on it."},
            "source": {"type": "string", "const": source_for(spec.service)} if spec.service != ANY_SERVICE else
            {"type": "string", "enum": [source_for(service) for service in SERVICES]},
            "type": {"type": "string", "const": event_type(name)},
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string", "description": "The id of the resource the event is about."},
            "tenantid": {"type": "string", "description": "The clinic the event belongs to; consumers keep it."},
            "correlationid": {"type": "string", "description": "The request id that caused the event."},
            "traceparent": {"type": "string", "description": (
                "W3C Trace Context of the operation that raised the event (CloudEvents distributed-tracing "
                "extension); present when tracing is on.")},
            "tracestate": {"type": "string", "description": "W3C Trace Context vendor state that goes with `traceparent`."},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "data": {"$ref": data_ref},
        },
    }


def build_document() -> dict[str, Any]:
    exchange = {"name": DEFAULT_EXCHANGE, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = dict(_data_schemas())
    for name, spec in REGISTRY.items():
        message_id = _camel(name)
        envelope_id = f"{message_id}Event"
        schemas[envelope_id] = _envelope(name, f"#/components/schemas/{spec.data_schema.__name__}")
        messages[message_id] = {
            "name": name,
            "title": event_type(name),
            "summary": spec.summary,
            "contentType": CONTENT_TYPE,
            "payload": {"$ref": f"#/components/schemas/{envelope_id}"},
            "bindings": {"amqp": {"messageType": event_type(name), "bindingVersion": "0.3.0"}},
        }
        channels[name] = {
            "address": name,
            "title": f"Routing key {name}",
            "messages": {message_id: {"$ref": f"#/components/messages/{message_id}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": exchange, "bindingVersion": "0.3.0"}},
        }
        operations[f"publish_{message_id}"] = {
            "action": "send",
            "title": f"The {spec.service} service publishes {name}" if spec.service != ANY_SERVICE else
            f"Every service publishes {name}",
            "summary": spec.summary,
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/{message_id}"}],
            "bindings": {"amqp": {"deliveryMode": 2, "mandatory": True, "bindingVersion": "0.3.0"}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Stepwise events",
            "version": VERSION,
            "description": (
                f"Events on the durable topic exchange `{DEFAULT_EXCHANGE}`; the routing key is the event name. "
                "Each message is a persistent CloudEvents 1.0 event in structured JSON mode, published with "
                "publisher confirms. Delivery is at least once: de-duplicate on `id`. Stepwise's own consumers read "
                "quorum queues (`<prefix>.<consumer>`, replicated across the cluster's nodes), with delay queues "
                "`<queue>.retry.<ms>ms` and dead letters `<queue>.dead`; a subscriber's own queue should be a "
                "quorum queue too (`x-queue-type: quorum`), so that losing a node loses none of its events."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "rabbitmq": {
                "host": "rabbitmq:5672",
                "protocol": "amqp",
                "protocolVersion": "0-9-1",
                "description": "The RabbitMQ broker or cluster of a Stepwise deployment (AMQP_URL: one URL per node, "
                               "comma-separated).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


if __name__ == "__main__":
    json.dump(build_document(), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
