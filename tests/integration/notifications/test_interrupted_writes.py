"""A writer that stops between two of its writes (the database went away, the process died):
what it left is finished by the next look, and nothing is done twice. The stop is the database
error a dropped connection raises, at the point between the two writes."""
from __future__ import annotations

import pytest
from pymongo.errors import AutoReconnect

from services.notifications import config
from services.notifications.adapters.alerts import Alerts
from services.notifications.adapters.preferences import PreferencesRepository
from services.notifications.domain.preferences import Preferences
from services.notifications.actions import EmailChannel
from services.notifications.jobs import EscalationJob
from shared.mongo import Scope
from tests.support.notifications import TENANT

pytestmark = pytest.mark.integration


def connection_lost(*args, **kwargs):
    raise AutoReconnect("connection lost")


def listed(store, headers, status: str) -> list[str]:
    return [item["id"] for item in store.every_page("/v1/alerts", headers, status=status)]


def test_an_acknowledgement_stopped_before_its_refresh_is_listed_right_once_the_escalation_job_looks(
    store, auth, monkeypatch
):
    store.clinic(["client-1"], care_team=["ther-1"], admins=["admin-1"])
    alert_id = store.raise_alert("client-1")
    staff = auth("therapist", "ther-1")
    store.clock.advance(minutes=5)

    monkeypatch.setattr(Alerts, "refresh", connection_lost)
    assert store.client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=staff).status_code == 500
    monkeypatch.undo()

    assert store.client.get(f"/v1/alerts/{alert_id}", headers=staff).json["status"] == "acknowledged"
    assert listed(store, staff, "delivered") == [alert_id]  # the list's copy is behind
    EscalationJob(store.database, store.clock).run()
    assert listed(store, staff, "acknowledged") == [alert_id]
    assert listed(store, staff, "delivered") == []
    assert store.client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=staff).status_code == 409

    store.clock.advance(minutes=30)
    EscalationJob(store.database, store.clock).run()
    assert store.database[config.NOTIFICATIONS].count_documents({"type": "risk_alert_escalated"}) == 0
    assert store.database[config.ESCALATION_TIMETABLE].count_documents({}) == 0


def test_an_email_recorded_by_a_worker_that_stopped_before_its_follow_up_is_noted_on_the_alert_once(
    store, auth, mailbox, monkeypatch
):
    store.clinic(["client-1"], care_team=["ther-1"], admins=["admin-1"])
    PreferencesRepository(store.database, Scope(TENANT)).put(
        "ther-1", Preferences(email="ther1@clinic.example"), store.clock.now(), "test")
    alert_id = store.raise_alert("client-1")
    job = store.email_job()

    monkeypatch.setattr(EmailChannel, "after", connection_lost)
    with pytest.raises(AutoReconnect):
        job.run()
    monkeypatch.undo()
    staff = auth("therapist", "ther-1")
    history = store.client.get(f"/v1/alerts/{alert_id}", headers=staff).json["history"]
    assert ("delivered", "email") not in {(entry["action"], entry["channel"]) for entry in history}

    job.run()
    history = store.client.get(f"/v1/alerts/{alert_id}", headers=staff).json["history"]
    assert [(e["action"], e["channel"]) for e in history if e["action"] == "delivered"] == [
        ("delivered", "inbox"), ("delivered", "email")
    ]
    assert len(mailbox.to("ther1@clinic.example")) == 1
    assert store.database[config.EMAIL_TIMETABLE].count_documents({}) == 0
    assert store.database[config.DELIVERY_ATTEMPTS].count_documents({"kind": "email"}) == 1


def test_an_escalation_claimed_by_a_worker_that_stopped_before_telling_the_admins_is_finished_once(
    store, auth, monkeypatch
):
    store.clinic(["client-1"], care_team=["ther-1"], admins=["admin-1", "admin-2"])
    alert_id = store.raise_alert("client-1")
    store.clock.advance(minutes=30)
    job = EscalationJob(store.database, store.clock)

    monkeypatch.setattr(job.notifier, "notify", connection_lost)
    with pytest.raises(AutoReconnect):
        job.run()
    monkeypatch.undo()
    assert store.database[config.NOTIFICATIONS].count_documents({"type": "risk_alert_escalated"}) == 0

    store.clock.advance(minutes=1)
    job.run()
    job.run()
    told = store.database[config.NOTIFICATIONS].find({"type": "risk_alert_escalated"})
    assert sorted(notice["recipient_id"] for notice in told) == ["admin-1", "admin-2"]
    staff = auth("therapist", "ther-1")
    assert listed(store, staff, "escalated") == [alert_id]
    [escalation] = [e for e in store.client.get(f"/v1/alerts/{alert_id}", headers=staff).json["history"]
                    if e["action"] == "escalated"]
    assert escalation["at"] == "2025-03-03T10:30:00.000Z" and escalation["recipients"] == ["admin-1", "admin-2"]
    assert store.database[config.ESCALATION_TIMETABLE].count_documents({}) == 0
