"""Risk alerts end to end: one alert however often the flag arrives, nothing lost while the
worker is down, escalation to admins once, acknowledgement, history."""
from __future__ import annotations

from services.notifications import config
from tests.support.notifications import questionnaire_assigned, risk_flagged
from tests.support.notifications import APP_BASE_URL

import pytest

pytestmark = pytest.mark.integration


def name_clinicians(service, auth, clinicians) -> None:
    answer = service.call("PUT", "/v1/tenant/clinicians", auth("admin", "admin-1"), json={"clinician_ids": list(clinicians)})
    assert answer.status_code == 200, answer.json


def setup_clinic(service, auth, care_team=("ther-1", "ther-2"), emails=None, admins=("admin-1",)):
    admin = auth("admin", "admin-1")
    assert service.call("PUT", "/v1/tenant/admins", admin, json={"admin_ids": list(admins)}).status_code == 200
    name_clinicians(service, auth, care_team)
    response = service.call("PUT", "/v1/care-teams/client-1", admin, json={"therapist_ids": list(care_team)})
    assert response.status_code == 200, response.json
    for user, address in (emails or {}).items():
        assert service.call("PUT", f"/v1/preferences/{user}", admin, json={"email": address}).status_code == 200


def alerts_for(service, event) -> list[dict]:
    return list(service.database[config.ALERTS].find({"event_id": event["id"]}))


def test_five_copies_of_a_risk_flag_make_one_alert_one_email_and_one_inbox_entry_each(service, auth, mailbox):
    setup_clinic(service, auth, emails={"ther-1": "ther1@clinic.example"})
    event = risk_flagged()

    service.publish(event, times=5)

    service.wait(lambda: mailbox.to("ther1@clinic.example"), "the risk alert email")
    service.wait(lambda: service.harness.message_count(f"{service.settings.queue_prefix}.notifications.rules") == 0,
                 "every copy consumed")
    for _ in range(3):
        service.run_job("email-deliveries")
    [alert] = alerts_for(service, event)
    assert len(mailbox.to("ther1@clinic.example")) == 1
    for therapist in ("ther-1", "ther-2"):
        [entry] = service.call("GET", "/v1/notifications", auth("therapist", therapist)).json["items"]
        assert (entry["type"], entry["priority"], entry["alert_id"]) == ("risk_alert", "urgent", alert["_id"])
        assert "PHQ-9 item 9 answered 2" in entry["title"]

    [message] = mailbox.to("ther1@clinic.example")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    notification_id = service.notifications(recipient_id="ther-1")[0]["_id"]
    assert f"{APP_BASE_URL}/notifications/{notification_id}" in text
    for clinical in ("PHQ", "item 9", "self", "client-1"):
        assert clinical not in message["Subject"] and clinical not in text and clinical not in html


def test_a_risk_flag_raised_while_the_worker_is_down_arrives_when_it_starts(service, auth, mailbox):
    setup_clinic(service, auth, emails={"ther-1": "ther1@clinic.example"})
    stopped = service.restart_worker(start=False)
    stopped.declare()  # the queues exist, so the broker keeps what is published meanwhile
    event = risk_flagged()

    service.publish(event)
    assert alerts_for(service, event) == []

    service.harness.start(stopped)
    service.wait(lambda: alerts_for(service, event), "the alert")
    service.wait(lambda: mailbox.to("ther1@clinic.example"), "the risk alert email")
    service.wait(lambda: len(service.notifications(event_id=event["id"])) == 2, "both therapists' notifications")


def test_an_unacknowledged_alert_goes_to_the_admins_once(service, auth, mailbox):
    setup_clinic(service, auth, admins=("admin-1", "admin-2"), emails={"admin-1": "admin1@clinic.example"})
    event = risk_flagged()
    service.publish(event)
    [alert] = service.wait(lambda: alerts_for(service, event), "the alert")
    therapist = auth("therapist", "ther-1")

    service.clock.advance(minutes=29)
    service.run_job("escalations")
    assert service.notifications(type="risk_alert_escalated") == []

    service.clock.advance(minutes=1)
    service.wait(lambda: len(service.notifications(type="risk_alert_escalated")) == 2, "both admins told")
    service.wait(lambda: mailbox.to("admin1@clinic.example"), "the escalation email")
    for _ in range(3):
        service.run_job("escalations")
        service.run_job("email-deliveries")
    assert len(service.notifications(type="risk_alert_escalated")) == 2
    assert len(mailbox.to("admin1@clinic.example")) == 1
    [escalated] = service.call("GET", "/v1/notifications", auth("admin", "admin-2")).json["items"]
    assert escalated["alert_id"] == alert["_id"] and escalated["priority"] == "urgent"

    view = service.call("GET", f"/v1/alerts/{alert['_id']}", therapist).json
    assert view["status"] == "escalated"
    actions = [(entry["action"], tuple(entry["recipients"]), entry["channel"]) for entry in view["history"]]
    assert actions[0] == ("raised", ("ther-1", "ther-2"), None)
    assert ("delivered", ("ther-1",), "inbox") in actions
    assert ("escalated", ("admin-1", "admin-2"), None) in actions

    # An escalated alert still waits for someone to take it in hand.
    acknowledged = service.call("POST", f"/v1/alerts/{alert['_id']}/acknowledge", auth("admin", "admin-1"))
    assert acknowledged.status_code == 200
    assert acknowledged.json["status"] == "acknowledged"


def test_an_alert_acknowledged_in_time_is_not_escalated(service, auth):
    setup_clinic(service, auth)
    event = risk_flagged()
    service.publish(event)
    [alert] = service.wait(lambda: alerts_for(service, event), "the alert")
    therapist = auth("therapist", "ther-2")

    service.clock.advance(minutes=10)
    response = service.call("POST", f"/v1/alerts/{alert['_id']}/acknowledge", therapist)
    assert response.status_code == 200
    assert response.json["status"] == "acknowledged"
    again = service.call("POST", f"/v1/alerts/{alert['_id']}/acknowledge", auth("therapist", "ther-1"))
    assert again.status_code == 409

    service.clock.advance(minutes=60)
    for _ in range(3):
        service.run_job("escalations")
    assert service.notifications(type="risk_alert_escalated") == []
    view = service.call("GET", f"/v1/alerts/{alert['_id']}", therapist).json
    assert [e["action"] for e in view["history"] if e["action"] != "delivered"] == ["raised", "acknowledged"]
    [acknowledgement] = [e for e in view["history"] if e["action"] == "acknowledged"]
    assert acknowledgement["by"] == "ther-2"
    assert acknowledgement["at"] == "2025-03-03T10:10:00.000Z"

    listed = service.call("GET", "/v1/alerts?client_id=client-1&status=acknowledged", therapist).json
    assert [item["id"] for item in listed["items"]] == [alert["_id"]]
    assert service.call("GET", "/v1/alerts?status=raised", therapist).json["items"] == []


def test_concurrent_acknowledgements_record_exactly_one(service, auth):
    import threading

    setup_clinic(service, auth)
    event = risk_flagged()
    service.publish(event)
    [alert] = service.wait(lambda: alerts_for(service, event), "the alert")
    statuses: list[int] = []

    def acknowledge(who: str) -> None:
        client = service.client.application.test_client()
        statuses.append(client.post(f"/v1/alerts/{alert['_id']}/acknowledge", headers=auth("therapist", who)).status_code)

    threads = [threading.Thread(target=acknowledge, args=(f"ther-{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 5
    assert service.database[config.ALERT_EVENTS].count_documents({"alert_id": alert["_id"], "action": "acknowledged"}) == 1


def test_a_client_without_care_team_has_its_alert_sent_to_the_admins(service, auth):
    admin = auth("admin", "admin-1")
    assert service.call("PUT", "/v1/tenant/admins", admin, json={"admin_ids": ["admin-1"]}).status_code == 200
    event = risk_flagged(client_id="client-9")
    service.publish(event)

    [alert] = service.wait(lambda: alerts_for(service, event), "the alert")
    assert alert["recipients"] == ["admin-1"]
    [entry] = service.wait(lambda: service.call("GET", "/v1/notifications", admin).json["items"], "the admin's inbox entry")
    assert entry["type"] == "risk_alert"
    assert "no therapist on their care team" in entry["body"]


def test_an_alert_nobody_can_be_told_about_goes_to_the_first_admins_named(service, auth):
    event = risk_flagged(client_id="client-9")
    service.publish(event)
    [alert] = service.wait(lambda: alerts_for(service, event), "the alert")
    assert alert["recipients"] == []
    service.run_job("escalations")
    assert service.notifications(event_id=f"{event['id']}/escalated") == []

    admin = auth("admin", "admin-1")
    assert service.call("PUT", "/v1/tenant/admins", admin, json={"admin_ids": ["admin-1"]}).status_code == 200
    service.wait(lambda: service.notifications(event_id=f"{event['id']}/escalated"), "the escalation")
    assert service.call("GET", f"/v1/alerts/{alert['_id']}", admin).json["status"] == "escalated"


def test_therapists_named_by_events_join_the_care_team_and_hear_of_its_risks(service, auth):
    name_clinicians(service, auth, ["ther-7", "ther-8", "ther-9", "ther-10"])
    for therapist in ("ther-7", "ther-8", "ther-9"):
        service.publish(questionnaire_assigned("client-3", therapist))
    flag = risk_flagged(client_id="client-3", therapist_id="ther-10")
    staff = auth("therapist", "ther-7")
    service.wait(
        lambda: len(service.call("GET", "/v1/care-teams/client-3", staff).json["therapist_ids"]) == 3, "the care team"
    )

    service.publish(flag)
    [alert] = service.wait(lambda: alerts_for(service, flag), "the alert")
    assert sorted(alert["recipients"]) == ["ther-10", "ther-7", "ther-8", "ther-9"]
    assert sorted(service.call("GET", "/v1/care-teams/client-3", staff).json["therapist_ids"]) == [
        "ther-10", "ther-7", "ther-8", "ther-9"
    ]
