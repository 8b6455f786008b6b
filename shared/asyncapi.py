"""The AsyncAPI 3.0 document of Stepwise's events, generated from the event registry.

    python -m shared.asyncapi > docs/asyncapi.json

It has a channel and a send operation per event (its routing key on the topic exchange), each
message with an example (``shared/events/examples.json``: events the services really stored) and
its correlation id (the ``correlationid`` of the request that caused it), and each consumer's
queues as each service's worker declares them with default settings: the queue and a receive
operation, a delay queue per retry delay and the dead-letter queue, with their arguments.

A test regenerates it and compares with the committed file, validates it against the official
AsyncAPI 3.0.0 JSON schema, and checks each example against its message's schema, so the
published event contract cannot drift from the code.
"""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any, Iterable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared.apidocs import default_settings
from shared.config import DEFAULT_EXCHANGE
from shared.events.amqp import QueueTopology, dead_letter_queue, retry_queue
from shared.events.envelope import CONTENT_TYPE, SPECVERSION, event_type, source_for
from shared.events.registry import ANY_SERVICE, REGISTRY, SERVICES
from shared.events.topics import matches

VERSION = "1.0.0"
EXAMPLES = Path(__file__).resolve().parent / "events" / "examples.json"
CORRELATION_ID = {
    "description": "The X-Request-ID of the HTTP request that caused the event (its log lines carry it too); "
    "absent from events a job or a consumer raised on its own.",
    "location": "$message.payload#/correlationid",
}
_AMQP = "0.3.0"


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


def consumers() -> list[tuple[str, QueueTopology]]:
    """Each worker's consumers as it declares them, built from its service's default settings
    (nothing is connected to): the service and the consumer's queues and bindings."""
    found = []
    for service in SERVICES:
        worker = importlib.import_module(f"services.{service}.worker").build_worker(default_settings(service))
        found.extend((service, consumer.topology) for consumer in worker.consumers)
    return found


def _queue_channel(queue: str, arguments: dict, messages: Iterable[str], description: str) -> dict[str, Any]:
    binding = {"is": "queue", "queue": {"name": queue, "durable": True, "exclusive": False, "autoDelete": False,
                                         "vhost": "/"}, "bindingVersion": _AMQP, "x-arguments": arguments}
    return {
        "address": queue,
        "title": f"Queue {queue}",
        "description": description,
        "messages": {message_id: {"$ref": f"#/components/messages/{message_id}"} for message_id in messages},
        "bindings": {"amqp": binding},
    }


def _consumer_topology(channels: dict[str, Any], operations: dict[str, Any]) -> None:
    for service, topology in consumers():
        queue, dead = topology.queue, dead_letter_queue(topology.queue)
        names = [name for name in REGISTRY if any(matches(pattern, name) for pattern in topology.patterns)]
        messages = [_camel(name) for name in names]
        delays = ", ".join(f"{delay:g} s" for delay in topology.retry_delays)
        descriptions = {
            queue: f"Bound to `{DEFAULT_EXCHANGE}` with {', '.join(f'`{p}`' for p in topology.patterns)}. The "
            f"{service} worker acknowledges an event once its handler's writes are stored, and skips an `id` it "
            f"has handled. A handler that fails sends the event to the next delay queue ({delays}: "
            f"`RETRY_DELAYS`), which returns it here when the delay is over; after the last, it goes to `{dead}`. "
            f"A malformed event (its envelope or data not as these schemas define them) goes to `{dead}` at once.",
            dead: f"Events of `{queue}` that were malformed (header `x-stepwise-reason: malformed`, on their first "
            f"delivery) or failed every retry (`failed`), kept for ops: "
            f"`python -m shared.events.deadletters list|show|replay --queue {queue}`.",
            **{
                retry_queue(queue, delay): f"Holds a failed event for {delay:g} s (message TTL), then dead-letters "
                f"it back to `{queue}` through the default exchange, so only the consumer that failed sees it again."
                for delay in topology.retry_delays
            },
        }
        for name, arguments in topology.queues():
            channels[name] = _queue_channel(name, arguments, messages, descriptions[name])
        operations[f"consume_{_camel(queue)}"] = {
            "action": "receive",
            "title": f"The {service} worker consumes {queue}",
            "channel": {"$ref": f"#/channels/{queue}"},
            "messages": [{"$ref": f"#/channels/{queue}/messages/{message_id}"} for message_id in messages],
            "bindings": {"amqp": {"ack": True, "bindingVersion": _AMQP}},
        }


def _data_schemas() -> dict[str, Any]:
    spec = APISpec("stepwise-events", VERSION, "3.0.3", plugins=[MarshmallowPlugin()])
    for spec_entry in REGISTRY.values():
        name = spec_entry.data_schema.__name__
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=spec_entry.data_schema)
    return _json_schema(spec.to_dict()["components"]["schemas"])


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
    examples = json.loads(EXAMPLES.read_text())
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
            "correlationId": {"$ref": "#/components/correlationIds/requestId"},
            # A new event without one yet is documented all the same; tests/test_asyncapi.py names it.
            "examples": [{"name": name, "summary": f"A {name} event as stored", "payload": examples[name]}]
            if name in examples else [],
            "bindings": {"amqp": {"messageType": event_type(name), "bindingVersion": _AMQP}},
        }
        channels[name] = {
            "address": name,
            "title": f"Routing key {name}",
            "messages": {message_id: {"$ref": f"#/components/messages/{message_id}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": exchange, "bindingVersion": _AMQP}},
        }
        operations[f"publish_{message_id}"] = {
            "action": "send",
            "title": f"The {spec.service} service publishes {name}" if spec.service != ANY_SERVICE else
            f"Every service publishes {name}",
            "summary": spec.summary,
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/{message_id}"}],
            "bindings": {"amqp": {"deliveryMode": 2, "mandatory": True, "bindingVersion": _AMQP}},
        }
    _consumer_topology(channels, operations)
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
                "`<queue>.retry.<ms>ms` and dead letters `<queue>.dead`: an event whose envelope or data these "
                "schemas refuse, or of an unregistered type, is malformed and dead-lettered on its first delivery "
                "(`x-stepwise-reason: malformed`; retrying cannot fix it, and no handler sees it), one whose handler "
                "keeps failing after the last retry (`x-stepwise-reason: failed`). A subscriber's own queue should be "
                "a quorum queue too (`x-queue-type: quorum`), so that losing a node loses none of its events."
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
        "components": {"schemas": schemas, "messages": messages, "correlationIds": {"requestId": CORRELATION_ID}},
    }


if __name__ == "__main__":
    json.dump(build_document(), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
