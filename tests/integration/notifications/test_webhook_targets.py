"""Webhook targets that cannot be turned against us (issue 10), secret rotation, and deleting a
subscription with its delivery log (issue 11): against the real API, worker, broker, database
and a real HTTP receiver on 127.0.0.1, which the tests' ``WEBHOOK_ALLOWED_HOSTS`` lets through
(conftest) while every other local or private target is refused."""
from __future__ import annotations

import json

import pytest

from services.notifications import config
from services.notifications.domain.signing import SIGNATURE_HEADER, verify
from tests.support.notifications import goal_achieved

pytestmark = pytest.mark.integration

SECRET = "whsec-0123456789abcdef"
NEW_SECRET = "whsec-rotated-fedcba9876543210"

# Every form issue 10 registered with 201, over http as reproduced and over https (so that the
# address, not the scheme, is what refuses it).
ISSUE_TARGETS = [
    "169.254.169.254/latest/meta-data/",
    "10.0.0.5/hook",
    "172.16.0.1/hook",
    "192.168.1.10/hook",
    "100.64.0.1/hook",
    "[fd00::1]/hook",
    "localhost:15672/api/overview",
    "0.0.0.0/hook",
    "2130706433/hook",
]


class SwitchingResolver:
    """A name we control: it answers what the test says, as a DNS server re-pointed by the
    name's owner would (the API and the worker both ask it)."""

    def __init__(self, answers: dict[str, list[str]]):
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return list(self.answers.get(host, []))


def subscribe(service, auth, url, role="admin", sub="admin-1"):
    return service.call("POST", "/v1/subscriptions", auth(role, sub),
                        json={"url": url, "event_types": ["goal.*"], "secret": SECRET})


def attempts(service, subscription_id, headers) -> list[dict]:
    return service.call("GET", f"/v1/subscriptions/{subscription_id}/deliveries", headers).json["items"]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_every_target_the_issue_registered_is_refused_naming_url(service, auth, scheme):
    for target in ISSUE_TARGETS:
        refused = subscribe(service, auth, f"{scheme}://{target}")
        assert refused.status_code == 422, (target, refused.json)
        assert refused.content_type == "application/problem+json"
        assert list(refused.json["errors"]) == ["url"], refused.json
    assert service.database[config.SUBSCRIPTIONS].count_documents({}) == 0


def test_credentials_in_a_url_are_refused_never_stored_or_shown(service, auth, receiver):
    with_password = receiver.url.replace("http://", "http://hook-user:hunter2-secret@")
    refused = subscribe(service, auth, with_password)
    assert refused.status_code == 422 and "credentials" in refused.json["errors"]["url"][0]
    assert "hunter2" not in json.dumps(refused.json)
    assert service.database[config.SUBSCRIPTIONS].count_documents({}) == 0


def test_a_name_resolving_to_a_private_address_is_refused_at_registration(start_service, auth):
    resolver = SwitchingResolver({"hooks.inside.test": ["1.1.1.1", "10.20.30.40"]})
    service = start_service(resolver=resolver)
    refused = subscribe(service, auth, "https://hooks.inside.test/stepwise")
    assert refused.status_code == 422 and "private" in refused.json["errors"]["url"][0]
    assert resolver.asked == ["hooks.inside.test"]
    unresolved = subscribe(service, auth, "https://nowhere.inside.test/stepwise")
    assert unresolved.status_code == 422 and "does not resolve" in unresolved.json["errors"]["url"][0]


def test_a_name_re_pointed_at_a_local_address_after_registration_is_not_contacted(start_service, auth, receiver):
    # The name answers a global address at registration (nothing connects to it then), and the
    # test receiver's address when the delivery connects: were the check skipped, the receiver
    # would get the POST.
    port = receiver.url.split(":")[2].split("/")[0]
    resolver = SwitchingResolver({"hooks.rebind.test": ["1.1.1.1"]})
    service = start_service(resolver=resolver)
    created = subscribe(service, auth, f"https://hooks.rebind.test:{port}/hooks/stepwise")
    assert created.status_code == 201, created.json
    resolver.answers["hooks.rebind.test"] = ["127.0.0.1"]

    service.publish(goal_achieved())

    admin = auth("admin", "admin-1")
    [attempt] = service.wait(lambda: attempts(service, created.json["id"], admin), "the attempt")
    assert (attempt["outcome"], attempt["reason"], attempt["final"]) == ("rejected", "target_not_allowed", True)
    assert receiver.requests == []
    assert resolver.asked.count("hooks.rebind.test") >= 2  # at registration and at delivery


def test_a_rotated_secret_and_the_previous_one_both_sign_during_the_overlap_then_the_new_one_alone(
    service, auth, receiver
):
    platform = auth("service", "platform-1")
    created = subscribe(service, auth, receiver.url, role="service", sub="platform-1").json
    path = f"/v1/subscriptions/{created['id']}/secret"
    assert service.call("POST", path, platform, json={"secret": "short"}).status_code == 422
    assert service.call("POST", path, platform, json={"secret": NEW_SECRET, "overlap_seconds": -1}).status_code == 422
    assert service.call("POST", path, auth("service", "platform-2"), json={"secret": NEW_SECRET}).status_code == 403

    rotated = service.call("POST", path, platform, json={"secret": NEW_SECRET, "overlap_seconds": 3600})
    assert rotated.status_code == 200, rotated.json
    assert rotated.json["secret_rotated_at"] == "2025-03-03T10:00:00.000Z"
    assert rotated.json["previous_secret_valid_until"] == "2025-03-03T11:00:00.000Z"
    assert SECRET not in json.dumps(rotated.json) and NEW_SECRET not in json.dumps(rotated.json)

    service.publish(goal_achieved())
    service.wait(lambda: len(receiver.requests) == 1, "a delivery during the overlap")
    headers, body = receiver.requests[0]
    now = service.clock.now()
    assert verify(SECRET, body, headers[SIGNATURE_HEADER], now)
    assert verify(NEW_SECRET, body, headers[SIGNATURE_HEADER], now)

    service.clock.advance(seconds=3600)
    service.publish(goal_achieved())
    service.wait(lambda: len(receiver.requests) == 2, "a delivery after the overlap")
    headers, body = receiver.requests[1]
    now = service.clock.now()
    assert verify(NEW_SECRET, body, headers[SIGNATURE_HEADER], now)
    assert not verify(SECRET, body, headers[SIGNATURE_HEADER], now)
    view = service.call("GET", f"/v1/subscriptions/{created['id']}", platform).json
    assert view["previous_secret_valid_until"] is None


def test_deleting_a_subscription_stops_its_deliveries_and_deletes_its_log(service, auth, receiver):
    admin = auth("admin", "admin-1")
    kept = subscribe(service, auth, receiver.url.replace("/stepwise", "/kept")).json
    deleted = subscribe(service, auth, receiver.url, role="service", sub="platform-1").json
    service.call("POST", f"/v1/subscriptions/{deleted['id']}/secret", admin, json={"secret": NEW_SECRET})
    service.publish(goal_achieved())
    service.wait(lambda: len(attempts(service, deleted["id"], admin)) == 1, "the first delivery logged")

    assert service.call("DELETE", f"/v1/subscriptions/{deleted['id']}", auth("service", "platform-2")).status_code == 403
    assert service.call("DELETE", f"/v1/subscriptions/{deleted['id']}", auth("admin", "admin-9", "clinic-b")).status_code == 404
    answer = service.call("DELETE", f"/v1/subscriptions/{deleted['id']}", auth("service", "platform-1"))
    assert answer.status_code == 204

    assert service.call("GET", f"/v1/subscriptions/{deleted['id']}", admin).status_code == 404
    assert service.call("GET", f"/v1/subscriptions/{deleted['id']}/deliveries", admin).status_code == 404
    assert [s["id"] for s in service.call("GET", "/v1/subscriptions", admin).json["items"]] == [kept["id"]]
    for collection in (config.DELIVERY_ATTEMPTS, config.SUBSCRIPTION_SECRETS, config.DELIVERIES):
        assert service.database[collection].count_documents({"subscription_id": deleted["id"]}) == 0, collection

    service.publish(goal_achieved())
    service.wait(lambda: len(attempts(service, kept["id"], admin)) == 2, "the kept subscription's second delivery")
    paths = [headers for headers, _ in receiver.requests]
    assert len(paths) == 3  # two to the kept subscription, one to the deleted before it was deleted
    assert service.call("DELETE", f"/v1/subscriptions/{deleted['id']}", admin).status_code == 404


def test_a_name_that_stops_resolving_is_retried_not_refused(start_service, auth):
    resolver = SwitchingResolver({"hooks.flaky.test": ["1.1.1.1"]})
    service = start_service(resolver=resolver)
    created = subscribe(service, auth, "https://hooks.flaky.test/stepwise")
    assert created.status_code == 201, created.json
    resolver.answers["hooks.flaky.test"] = []  # nothing connects: a lookup that fails sends nothing

    service.publish(goal_achieved())

    [attempt] = service.wait(lambda: attempts(service, created.json["id"], auth("admin", "admin-1")), "the attempt")
    assert (attempt["outcome"], attempt["reason"], attempt["final"]) == ("retry", "no_answer", False)
