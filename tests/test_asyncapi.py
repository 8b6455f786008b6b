"""The AsyncAPI document is generated from the event registry, committed, and valid AsyncAPI 3.0."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from shared.asyncapi import build_document
from shared.events.registry import REGISTRY

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
