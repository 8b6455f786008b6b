"""Webhooks against a real HTTP receiver: signed POSTs, retries with growing delay, disabling
after a run of failed deliveries, re-enabling, the attempt log, and the outcome events."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.notifications import config
from services.notifications.domain.signing import SIGNATURE_HEADER, verify
from tests.support.notifications import goal_achieved, questionnaire_due, risk_flagged
from tests.support.peers import free_port

pytestmark = pytest.mark.integration

SECRET = "whsec-0123456789abcdef"


def subscribe(service, auth, url, event_types, role="service", sub="platform-1", tenant="clinic-a"):
    response = service.call("POST", "/v1/subscriptions", auth(role, sub, tenant),
                            json={"url": url, "event_types": event_types, "secret": SECRET})
    assert response.status_code == 201, response.json
    return response.json


def attempts(service, subscription_id, headers) -> list[dict]:
    return service.call("GET", f"/v1/subscriptions/{subscription_id}/deliveries", headers).json["items"]


def test_matching_events_are_posted_signed_and_logged(service, auth, receiver):
    platform = auth("service", "platform-1")
    subscription = subscribe(service, auth, receiver.url, ["goal.*", "risk.flagged"])
    assert "secret" not in subscription
    achieved, due, flagged = goal_achieved(), questionnaire_due(), risk_flagged()
    other_tenant = goal_achieved(tenant="clinic-b")

    for event in (other_tenant, achieved, due, flagged):
        service.publish(event)

    service.wait(lambda: len(receiver.requests) == 2, "two deliveries")
    received = {json.loads(body)["id"]: (headers, body) for headers, body in receiver.requests}
    assert set(received) == {achieved["id"], flagged["id"]}
    for headers, body in received.values():
        assert verify(SECRET, body, headers[SIGNATURE_HEADER], service.clock.now())
        assert not verify("another-secret-0123456789", body, headers[SIGNATURE_HEADER], service.clock.now())
        assert headers["Content-Type"] == "application/cloudevents+json"
    assert json.loads(received[achieved["id"]][1]) == achieved

    service.wait(lambda: len(attempts(service, subscription["id"], platform)) == 2, "the attempt log")
    logged = attempts(service, subscription["id"], platform)
    assert {(a["event_id"], a["attempt"], a["outcome"], a["reason"], a["final"]) for a in logged} == {
        (achieved["id"], 1, "delivered", "accepted", True), (flagged["id"], 1, "delivered", "accepted", True)
    }
    for path in (f"/v1/subscriptions/{subscription['id']}", "/v1/subscriptions"):
        shown = json.dumps(service.call("GET", path, platform).json)
        assert SECRET not in shown and '"secret"' not in shown


def test_a_failing_receiver_is_retried_with_growing_delay_then_disabled_and_re_enabled(service, auth, receiver):
    platform = auth("service", "platform-1")
    watch = service.harness.bind_queue(["notification.*"])
    subscription = subscribe(service, auth, receiver.url, ["goal.#"])
    receiver.always = 503
    start = service.clock.now()

    first = goal_achieved()
    service.publish(first)
    service.wait(lambda: len(receiver.requests) == 1, "attempt 1")
    service.run_job("webhook-deliveries")
    assert len(receiver.requests) == 1, "no retry before its delay"
    service.clock.advance(seconds=10)
    service.wait(lambda: len(receiver.requests) == 2, "attempt 2, 10 s later")
    service.clock.advance(seconds=29)
    service.run_job("webhook-deliveries")
    assert len(receiver.requests) == 2, "the second delay is longer"
    service.clock.advance(seconds=1)
    service.wait(lambda: len(receiver.requests) == 3, "attempt 3, 30 s after attempt 2")
    service.wait(lambda: len(attempts(service, subscription["id"], platform)) == 3, "three attempts logged")
    logged = sorted(attempts(service, subscription["id"], platform), key=lambda a: a["attempt"])
    assert [a["at"] for a in logged] == [
        f"{(start + timedelta(seconds=s)).isoformat(timespec='milliseconds')}".replace("+00:00", "Z") for s in (0, 10, 40)
    ]
    assert [(a["outcome"], a["reason"], a["final"]) for a in logged] == [
        ("retry", "receiver_error", False), ("retry", "receiver_error", False), ("retry", "receiver_error", True)
    ]
    assert service.call("GET", f"/v1/subscriptions/{subscription['id']}", platform).json["status"] == "enabled"

    second = goal_achieved()
    service.publish(second)
    service.wait(lambda: len(receiver.requests) == 4, "the second event's first attempt")
    service.clock.advance(seconds=10)
    service.wait(lambda: len(receiver.requests) == 5, "its second attempt")
    service.clock.advance(seconds=30)
    service.wait(lambda: len(receiver.requests) == 6, "its third attempt")
    service.wait(
        lambda: service.call("GET", f"/v1/subscriptions/{subscription['id']}", platform).json["status"] == "disabled",
        "the subscription disabled after 2 failed deliveries",
    )

    while_disabled = goal_achieved()
    service.publish(while_disabled)
    service.wait(lambda: service.database["processed_events"].find_one(
        {"consumer": "notifications.webhooks", "event_id": while_disabled["id"]}), "the event handled")
    service.run_job("webhook-deliveries")
    assert len(receiver.requests) == 6

    other = auth("service", "platform-2")
    assert service.call("POST", f"/v1/subscriptions/{subscription['id']}/enable", other).status_code == 403
    enabled = service.call("POST", f"/v1/subscriptions/{subscription['id']}/enable", platform)
    assert (enabled.status_code, enabled.json["status"], enabled.json["disabled_at"]) == (200, "enabled", None)
    receiver.always = 200
    after = goal_achieved()
    service.publish(after)
    service.wait(lambda: len(receiver.requests) == 7, "delivery after re-enabling")
    assert json.loads(receiver.requests[-1][1])["id"] == after["id"]
    service.wait(lambda: len(attempts(service, subscription["id"], platform)) == 7, "seven attempts logged")

    outcomes = {}
    def seen():
        for _, body in service.harness.drain(watch):
            event = json.loads(body)
            if event["data"]["channel"] == "webhook":
                outcomes[event["data"]["event_id"]] = event
        return {first["id"], second["id"], after["id"]} <= set(outcomes)
    service.wait(seen, "the outcome events")
    assert outcomes[first["id"]]["type"] == "stepwise.notification.failed.v1"
    assert outcomes[first["id"]]["data"]["channel"] == "webhook"
    assert outcomes[first["id"]]["data"]["reason"] == "retry: 503"
    assert outcomes[after["id"]]["type"] == "stepwise.notification.delivered.v1"
    assert outcomes[after["id"]]["data"]["recipient_id"] == subscription["id"]


def test_a_rejecting_receiver_is_not_retried(service, auth, receiver):
    platform = auth("service", "platform-1")
    subscription = subscribe(service, auth, receiver.url, ["goal.achieved"])
    receiver.statuses = [410]

    service.publish(goal_achieved())

    service.wait(lambda: attempts(service, subscription["id"], platform), "the attempt")
    service.clock.advance(minutes=5)
    service.run_job("webhook-deliveries")
    [attempt] = attempts(service, subscription["id"], platform)
    assert (attempt["outcome"], attempt["reason"], attempt["final"]) == ("rejected", "refused_by_receiver", True)
    assert len(receiver.requests) == 1


def test_email_and_inbox_deliveries_raise_delivered_events(service, auth, mailbox):
    watch = service.harness.bind_queue(["notification.delivered", "notification.failed"])
    admin = auth("admin", "admin-1")
    assert service.call("PUT", "/v1/tenant/clinicians", admin, json={"clinician_ids": ["ther-1"]}).status_code == 200
    assert service.call("PUT", "/v1/care-teams/client-1", admin, json={"therapist_ids": ["ther-1"]}).status_code == 200
    assert service.call("PUT", "/v1/preferences/ther-1", admin, json={"email": "ther1@clinic.example"}).status_code == 200

    service.publish(risk_flagged("client-1"))

    events = []
    def both():
        events.extend(json.loads(body) for _, body in service.harness.drain(watch))
        return {e["data"]["channel"] for e in events} >= {"inbox", "email"}
    service.wait(both, "delivered events for inbox and email")
    [notification] = service.notifications(recipient_id="ther-1")
    for event in events:
        assert event["type"] == "stepwise.notification.delivered.v1"
        assert event["tenantid"] == "clinic-a"
        assert event["data"]["notification_id"] == notification["_id"]
        assert event["data"]["recipient_id"] == "ther-1"


def test_an_unreachable_email_server_ends_in_a_failed_event(start_service, auth):
    service = start_service(SMTP_URL=f"smtp://127.0.0.1:{free_port()}", DELIVERY_MAX_ATTEMPTS="2")
    watch = service.harness.bind_queue(["notification.failed"])
    user = auth("client", "client-1")
    assert service.call("PUT", "/v1/preferences/client-1", user, json={"email": "c1@home.example"}).status_code == 200

    service.publish(questionnaire_due("client-1"))
    service.wait(lambda: service.database[config.DELIVERY_ATTEMPTS].find_one({"kind": "email"}), "attempt 1")
    service.clock.advance(seconds=10)

    [(_, body)] = service.wait(lambda: service.harness.drain(watch), "the failed event")
    failed = json.loads(body)
    assert failed["data"]["channel"] == "email"
    assert failed["data"]["reason"] == "retry: ConnectionRefusedError"
