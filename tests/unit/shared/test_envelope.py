import json

import pytest

from shared.events.envelope import MalformedEvent, new_event, parse_event, routing_key
from shared.logs import correlation_id


def test_a_new_event_is_a_cloudevent_routed_by_its_name():
    event = new_event("risk.flagged", tenant="clinic-a", subject="r-1", data={
        "response_id": "r-1", "client_id": "c-1", "instrument": "phq9",
        "flags": [{"code": "self_harm_risk", "item": "9", "value": 2}],
    })
    assert event["specversion"] == "1.0"
    assert event["type"] == "stepwise.risk.flagged.v1"
    assert event["source"] == "/stepwise/questionnaires"
    assert event["tenantid"] == "clinic-a"
    assert event["time"].endswith("Z")
    assert routing_key(event) == "risk.flagged"
    assert parse_event(json.dumps(event)) == event


def test_the_request_id_travels_in_the_event():
    token = correlation_id.set("req-42")
    try:
        event = new_event("goal.achieved", tenant="t", subject="g", data={"goal_id": "g", "client_id": "c"})
    finally:
        correlation_id.reset(token)
    assert event["correlationid"] == "req-42"


def test_unknown_event_types_and_bad_data_are_refused():
    with pytest.raises(KeyError):
        new_event("goal.exploded", tenant="t", subject="g", data={})
    with pytest.raises(ValueError, match="flags"):
        new_event("risk.flagged", tenant="t", subject="r", data={"response_id": "r", "client_id": "c", "instrument": "phq9", "flags": []})


def test_a_raiser_cannot_add_a_field_the_registry_does_not_define():
    with pytest.raises(ValueError, match="mood"):
        new_event("goal.achieved", tenant="t", subject="g", data={"goal_id": "g", "client_id": "c", "mood": "low"})


@pytest.mark.parametrize("body", [b"{", b"[]", json.dumps({"specversion": "0.3"}).encode()])
def test_malformed_messages_are_refused(body):
    with pytest.raises(MalformedEvent):
        parse_event(body)


def _achieved(**changes) -> dict:
    return {**new_event("goal.achieved", tenant="t", subject="g", data={"goal_id": "g", "client_id": "c"}), **changes}


@pytest.mark.parametrize(
    ("event", "named"),
    [
        (_achieved(type="stepwise.goal.exploded.v1"), "not a registered event type"),
        (_achieved(type="stepwise.goal.achieved.v2"), "type"),
        (_achieved(data={"goal_id": "g"}), "client_id"),
        (_achieved(data={"goal_id": "g", "client_id": 7}), "client_id"),
        (_achieved(data=["g"]), "data"),
        (_achieved(time="last Tuesday"), "time"),
    ],
)
def test_an_event_whose_data_its_definition_refuses_is_malformed(event, named):
    with pytest.raises(MalformedEvent, match=named):
        parse_event(json.dumps(event))


def test_a_time_in_the_data_must_be_an_rfc3339_time():
    due = new_event("questionnaire.due", tenant="t", subject="a", data={
        "assignment_id": "a", "client_id": "c", "instrument": "gad7", "due_at": "2025-03-04T09:00:00.000Z",
    })
    parse_event(json.dumps(due))
    due["data"]["due_at"] = "Tuesday"
    with pytest.raises(MalformedEvent, match="due_at"):
        parse_event(json.dumps(due))


def test_a_number_in_a_string_is_not_a_number():
    scored = new_event("questionnaire.scored", tenant="t", subject="r", data={
        "response_id": "r", "client_id": "c", "instrument": "phq9",
        "score": {"total": 11, "severity": "moderate"}, "change": {"reliable_change": None},
    })
    assert parse_event(json.dumps(scored))["data"]["score"]["total"] == 11
    scored["data"]["score"]["total"] = "11"
    with pytest.raises(MalformedEvent, match="total"):
        parse_event(json.dumps(scored))


def test_an_event_every_service_raises_names_its_raiser_and_no_other_event_may():
    data = {"erasure_id": "e-1", "client_id": "c-1", "requested_by": "admin-1"}
    event = new_event("client.erasure_requested", tenant="t", subject="e-1", data=data, service="notifications")
    assert event["source"] == "/stepwise/notifications"
    for service in (None, "billing"):
        with pytest.raises(ValueError):
            new_event("client.erasure_requested", tenant="t", subject="e-1", data=data, service=service)
    with pytest.raises(ValueError):
        new_event("goal.achieved", tenant="t", subject="g", data={"goal_id": "g", "client_id": "c"}, service="goals")
