"""The long lists, read a period at a time: an inbox over months with its filters, alerts over
months by tenant, client and status, a subscription's deliveries over days. Records are spread
over time with no worker running (``store``), then read through the API, every page."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.notifications.adapters.deliveries import Deliveries, WebhookAttempts
from services.notifications.adapters.preferences import PreferencesRepository
from services.notifications.domain import ids
from services.notifications.domain.attempts import CANCELLED, Attempt
from services.notifications.domain.preferences import Preferences
from services.notifications.domain.rules import NORMAL, Intent
from services.notifications.actions import Notifier
from services.notifications.handlers import WebhookFanout
from shared.mongo import Scope
from tests.support.notifications import TENANT, goal_achieved
from tests.support.notifications import START

pytestmark = pytest.mark.integration


def reminder(recipient_id: str, event_id: str) -> Intent:
    return Intent(type="reminder", priority=NORMAL, recipient_id=recipient_id, recipient_role="client",
                  client_id=recipient_id, tenant_id=TENANT, event_id=event_id, template="questionnaire_due",
                  context={"instrument": "gad7", "assignment_id": event_id, "due_at": None, "overdue": False})


def test_an_inbox_pages_newest_first_across_months_with_its_filters(store, auth):
    notifier, preferences = Notifier(store.database), PreferencesRepository(store.database, Scope(TENANT))
    listed, kept_out = [], []
    for day in range(0, 200, 9):  # about seven months, one reminder every nine days
        store.clock.set(START + timedelta(days=day))
        inbox_on = day not in (54, 63)
        preferences.put("client-1", Preferences(channels={"inbox": inbox_on, "email": False}), store.clock.now(), "test")
        [notification_id] = notifier.notify([reminder("client-1", f"due-{day}")], store.clock.now())
        (listed if inbox_on else kept_out).append(notification_id)
        notifier.notify([reminder("client-2", f"due-{day}")], store.clock.now())
    newest_first = listed[::-1]
    mine = auth("client", "client-1")

    assert [item["id"] for item in store.every_page("/v1/notifications", mine)] == newest_first
    for notification_id in kept_out:  # out of the list, still where an email link leads
        assert store.client.get(f"/v1/notifications/{notification_id}", headers=mine).status_code == 200

    read = newest_first[1::3]
    for notification_id in read:
        assert store.client.post(f"/v1/notifications/{notification_id}/read", headers=mine).status_code == 200
    assert [item["id"] for item in store.every_page("/v1/notifications", mine, unread="true")] == [
        n for n in newest_first if n not in read
    ]
    assert [item["id"] for item in store.every_page("/v1/notifications", mine, unread="false")] == read
    admin = auth("admin", "admin-1")
    assert [item["id"] for item in store.every_page("/v1/notifications", admin, limit=50, recipient_id="client-1")] == (
        newest_first
    )


def test_alerts_page_newest_first_across_months_by_tenant_client_and_status(store, auth):
    store.clinic(["client-a", "client-b"], care_team=["ther-1"], admins=["admin-1"])
    raised = []
    for day in range(0, 150, 6):  # five months, an alert every six days
        store.clock.set(START + timedelta(days=day))
        client_id = "client-a" if day % 4 == 0 else "client-b"
        raised.append((store.raise_alert(client_id), client_id))
    newest_first = raised[::-1]
    acknowledged = {alert_id for alert_id, _ in raised[::3]}
    staff = auth("therapist", "ther-1")
    for alert_id in acknowledged:
        assert store.client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=staff).status_code == 200

    def ids_of(**query) -> list[str]:
        return [item["id"] for item in store.every_page("/v1/alerts", staff, **query)]

    assert ids_of() == [alert_id for alert_id, _ in newest_first]
    assert ids_of(status="acknowledged") == [a for a, _ in newest_first if a in acknowledged]
    assert ids_of(status="delivered") == [a for a, _ in newest_first if a not in acknowledged]
    assert ids_of(client_id="client-a") == [a for a, c in newest_first if c == "client-a"]
    assert ids_of(client_id="client-b", status="acknowledged") == [
        a for a, c in newest_first if c == "client-b" and a in acknowledged
    ]
    assert ids_of(status="raised") == [] and ids_of(status="escalated") == []
    [first] = [item for item in store.every_page("/v1/alerts", staff, client_id="client-a") if item["id"] == raised[0][0]]
    assert first["status"] == "acknowledged"
    assert [entry["action"] for entry in first["history"]] == ["raised", "delivered", "acknowledged"]
    assert first == store.client.get(f"/v1/alerts/{first['id']}", headers=staff).json


def test_a_subscriptions_deliveries_page_newest_first_across_days(store, auth):
    platform = auth("service", "platform-1")
    subscription = store.client.post("/v1/subscriptions", headers=platform, json={
        "url": "https://hooks.clinic.example/stepwise", "event_types": ["goal.#"], "secret": "s" * 20}).json
    fanout, deliveries = WebhookFanout(store.database, store.clock), Deliveries(store.database)
    attempts = []
    for hour in range(0, 24 * 6, 7):  # six days, an event every seven hours, each tried twice
        store.clock.set(START + timedelta(hours=hour))
        event = goal_achieved()
        fanout(event)
        delivery = deliveries.get(ids.webhook_delivery(TENANT, event["id"], subscription["id"]))
        retry_at = store.clock.now() + timedelta(minutes=1)
        deliveries.record(delivery, Attempt(1, "retry", False, retry_at), store.clock.now(), status=503)
        deliveries.record(delivery, Attempt(2, "delivered", True), retry_at, status=204)
        attempts += [ids.attempt(delivery["_id"], 1), ids.attempt(delivery["_id"], 2)]

    listed = store.every_page(f"/v1/subscriptions/{subscription['id']}/deliveries", platform, limit=5)
    assert [item["id"] for item in listed] == attempts[::-1]
    assert {(item["attempt"], item["outcome"], item["reason"]) for item in listed} == {
        (1, "retry", "receiver_error"), (2, "delivered", "accepted")
    }
    assert not any("status_code" in item or "error" in item for item in listed)


def test_disabling_counts_the_newest_tried_deliveries_of_the_current_generation(store):
    deliveries = Deliveries(store.database)
    history = WebhookAttempts(store.database, Scope(TENANT))
    outcomes = ["delivered", "rejected", "retry", CANCELLED, "rejected"]  # oldest first, each ending a delivery
    for day, outcome in enumerate(outcomes):
        store.clock.set(START + timedelta(days=day))
        delivery = {"_id": f"delivery-{day}", "tenant": TENANT, "kind": "webhook", "subscription_id": "sub-1",
                    "event_id": f"event-{day}", "event_type": "goal.achieved"}
        deliveries.record(delivery, Attempt(1, "retry", False, store.clock.now()), store.clock.now())
        deliveries.record(delivery, Attempt(2, outcome, True), store.clock.now())

    assert history.final_outcomes("sub-1", None, 10) == ["rejected", "retry", "rejected", "delivered"]
    assert history.final_outcomes("sub-1", None, 2) == ["rejected", "retry"]
    assert history.final_outcomes("sub-1", START + timedelta(days=2), 10) == ["rejected", "retry"]
    assert history.final_outcomes("sub-2", None, 10) == []
