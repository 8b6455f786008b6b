"""Delivery guarantees: an attempt lost with its worker is made again, and two worker replicas
never send one email twice."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.notifications import config
from services.notifications.domain import ids
from services.notifications.worker import build_worker
from tests.support.notifications import TENANT, questionnaire_due

pytestmark = pytest.mark.integration


def test_an_attempt_claimed_by_a_worker_that_died_is_made_again_after_its_lease(service, auth, mailbox):
    user = auth("client", "client-1")
    assert service.call("PUT", "/v1/preferences/client-1", user, json={"email": "c1@home.example"}).status_code == 200
    event = questionnaire_due("client-1")
    delivery_id = ids.delivery(ids.notification(TENANT, event["id"], "client-1"), "email")
    lease = timedelta(seconds=service.settings["DELIVERY_LEASE_SECONDS"])
    # Another replica claimed the first attempt and died before recording any result.
    service.database[config.DELIVERY_CLAIMS].insert_one({
        "_id": ids.attempt(delivery_id, 1), "tenant": TENANT, "delivery_id": delivery_id, "attempt": 1,
        "claimed_at": service.clock.now(), "lease_until": service.clock.now() + lease,
    })

    service.publish(event)
    service.wait(lambda: service.database[config.DELIVERIES].find_one({"_id": delivery_id}), "the delivery")
    for _ in range(3):
        service.run_job("email-deliveries")
    assert mailbox.messages == []

    service.clock.advance(seconds=lease.total_seconds())
    service.wait(lambda: mailbox.to("c1@home.example"), "the email, on the next attempt")
    for _ in range(3):
        service.run_job("email-deliveries")
    assert len(mailbox.messages) == 1
    attempts = sorted(service.database[config.DELIVERY_ATTEMPTS].find({"delivery_id": delivery_id}), key=lambda a: a["attempt"])
    assert [(a["attempt"], a["outcome"], a["final"]) for a in attempts] == [(1, "interrupted", False), (2, "delivered", True)]


def test_two_worker_replicas_send_each_email_once(service, auth, mailbox):
    service.harness.start(build_worker(service.settings, clock=service.clock))
    admin = auth("admin", "admin-1")
    clients = [f"client-{n}" for n in range(12)]
    for client in clients:
        body = {"email": f"{client}@home.example"}
        assert service.call("PUT", f"/v1/preferences/{client}", admin, json=body).status_code == 200

    for client in clients:
        service.publish(questionnaire_due(client), times=2)

    service.wait(lambda: len(mailbox.messages) >= len(clients), "every email", timeout=30)
    service.wait(
        lambda: service.database[config.DELIVERY_ATTEMPTS].count_documents({"kind": "email"}) == len(clients),
        "every attempt recorded",
    )
    for _ in range(3):
        service.run_job("email-deliveries")
    assert sorted(rcpt for rcpts, _ in mailbox.messages for rcpt in rcpts) == sorted(f"{c}@home.example" for c in clients)
