"""The AsyncAPI document is generated from the event registry, committed, and valid AsyncAPI 3.0;
every event has an example that fits its schema, and every consumer's queues are in it."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from shared.asyncapi import build_document, consumers
from shared.events.amqp import dead_letter_queue, retry_queue
from shared.events.envelope import new_event, source_for
from shared.events.registry import ANY_SERVICE, REGISTRY, SERVICES
from shared.events.topics import matches

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "docs" / "asyncapi.json"
SCHEMA = Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json"


def test_committed_document_matches_the_registry():
    assert json.loads(COMMITTED.read_text()) == build_document(), (
        "docs/asyncapi.json is stale: run `python -m shared.asyncapi > docs/asyncapi.json`"
    )


def test_document_is_valid_asyncapi_3():
    jsonschema.validate(build_document(), json.loads(SCHEMA.read_text()))


def test_a_broken_document_is_rejected_by_the_schema():
    broken = build_document()
    broken["channels"]["goal.created"]["bindings"]["amqp"]["is"] = "mailbox"
    try:
        jsonschema.validate(broken, json.loads(SCHEMA.read_text()))
    except jsonschema.ValidationError:
        return
    raise AssertionError("an invalid AMQP binding passed validation")


def test_every_registered_event_has_a_channel_and_a_send_operation():
    document = build_document()
    for name in REGISTRY:
        assert document["channels"][name]["address"] == name
        operations = [op for op in document["operations"].values() if op["channel"]["$ref"] == f"#/channels/{name}"]
        assert [op["action"] for op in operations] == ["send"]


def test_contract_events_are_all_registered():
    contract_events = {
        "goal.created", "goal.revised", "goal.progress_recorded", "goal.milestone_reached",
        "goal.status_changed", "goal.achieved", "goal.due_soon", "questionnaire.assigned",
        "questionnaire.due", "questionnaire.scored", "risk.flagged", "notification.delivered",
        "notification.failed",
    }
    assert contract_events <= set(REGISTRY)


def payload_errors(document: dict, message: dict, payload) -> list[str]:
    validator = jsonschema.Draft7Validator({"allOf": [message["payload"]], "components": document["components"]})
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(payload)]


@pytest.mark.parametrize("name", REGISTRY)
def test_every_event_has_an_example_that_fits_its_schema_and_the_registry(name):
    document = build_document()
    message = document["components"]["messages"][next(
        key for key, value in document["components"]["messages"].items() if value["name"] == name
    )]
    assert message["examples"], f"no example of {name}: add one the service stored to shared/events/examples.json"
    [example] = message["examples"]
    event = example["payload"]
    assert payload_errors(document, message, event) == []
    # The registry's own check, as when the event is built (by the service its source names, for an
    # event every service raises).
    raiser = next(service for service in SERVICES if source_for(service) == event["source"])
    rebuilt = new_event(name, tenant=event["tenantid"], subject=event["subject"], data=event["data"], event_id=event["id"],
                        service=raiser if REGISTRY[name].service == ANY_SERVICE else None)
    assert {key: rebuilt[key] for key in ("type", "source", "specversion")} == {
        key: event[key] for key in ("type", "source", "specversion")
    }
    assert message["correlationId"] == {"$ref": "#/components/correlationIds/requestId"}


def test_an_example_that_does_not_fit_is_caught():
    document = build_document()
    message = document["components"]["messages"]["riskFlagged"]
    event = message["examples"][0]["payload"]
    assert payload_errors(document, message, {**event, "data": {**event["data"], "flags": []}})
    assert payload_errors(document, message, {**event, "type": "stepwise.goal.created.v1"})
    assert payload_errors(document, message, {key: value for key, value in event.items() if key != "tenantid"})


def test_the_correlation_id_is_where_events_carry_it():
    document = build_document()
    assert document["components"]["correlationIds"]["requestId"]["location"] == "$message.payload#/correlationid"
    caused_by_requests = [m["examples"][0]["payload"] for m in document["components"]["messages"].values()
                          if "correlationid" in m["examples"][0]["payload"]]
    assert caused_by_requests


def test_the_consumers_are_those_the_workers_declare():
    """Read from the workers themselves (``build_worker``), not from a list kept here: a new
    consumer is documented as soon as a worker has it."""
    queues = {topology.queue: service for service, topology in consumers()}
    assert {"stepwise.goals.scores", "stepwise.goals.instruments", "stepwise.notifications.risk",
            "stepwise.notifications.rules", "stepwise.notifications.webhooks"} <= set(queues)
    for service in SERVICES:
        assert queues[f"stepwise.{service}.erasure"] == queues[f"stepwise.{service}.erased"] == service


def test_every_consumer_queue_has_its_retry_and_dead_letter_queues_and_a_receive_operation():
    document = build_document()
    for _service, topology in consumers():
        queue = topology.queue
        routed = {name for name in REGISTRY if any(matches(pattern, name) for pattern in topology.patterns)}
        assert routed, f"{queue} is bound to no registered event"
        channel = document["channels"][queue]
        assert channel["bindings"]["amqp"]["is"] == "queue" and channel["bindings"]["amqp"]["queue"]["durable"]
        assert {document["components"]["messages"][m]["name"] for m in channel["messages"]} == routed
        [operation] = [op for op in document["operations"].values() if op["channel"]["$ref"] == f"#/channels/{queue}"]
        assert operation["action"] == "receive" and operation["bindings"]["amqp"]["ack"] is True
        assert topology.retry_delays
        for delay in topology.retry_delays:
            arguments = document["channels"][retry_queue(queue, delay)]["bindings"]["amqp"]["x-arguments"]
            assert arguments["x-message-ttl"] == round(delay * 1000)
            assert (arguments["x-dead-letter-exchange"], arguments["x-dead-letter-routing-key"]) == ("", queue)
        assert channel["bindings"]["amqp"]["x-arguments"]["x-dead-letter-routing-key"] == dead_letter_queue(queue)
        assert dead_letter_queue(queue) in document["channels"]
    assert {"risk.flagged"} == {document["components"]["messages"][m]["name"]
                                for m in document["channels"]["stepwise.notifications.risk"]["messages"]}
