"""Quiet hours hold email back until they end; risk alerts ignore them. The inbox is never held."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest

from services.notifications import config
from tests.support.notifications import questionnaire_due, risk_flagged

pytestmark = pytest.mark.integration

QUIET = {"start": "22:00", "end": "07:00", "timezone": "Europe/London"}
NIGHT = datetime(2025, 3, 3, 23, 0, tzinfo=timezone.utc)  # 23:00 in London (GMT)
MORNING = datetime(2025, 3, 4, 7, 0, tzinfo=timezone.utc)


def quiet_preferences(service, auth, user, address, role):
    response = service.call("PUT", f"/v1/preferences/{user}", auth(role, user), json={"email": address, "quiet_hours": QUIET})
    assert response.status_code == 200, response.json


def test_a_reminder_in_quiet_hours_is_emailed_when_they_end(clock, start_service, auth, mailbox):
    clock.set(NIGHT)
    service = start_service()
    quiet_preferences(service, auth, "client-1", "client1@home.example", "client")

    service.publish(questionnaire_due("client-1"))

    [delivery] = service.wait(lambda: list(service.database[config.DELIVERIES].find({"kind": "email"})), "the email delivery")
    [inbox] = service.call("GET", "/v1/notifications", auth("client", "client-1")).json["items"]
    assert inbox["type"] == "reminder"
    for _ in range(3):
        service.run_job("email-deliveries")
    assert mailbox.to("client1@home.example") == []
    [look] = service.database[config.EMAIL_TIMETABLE].find({"delivery_id": delivery["_id"]})
    assert look["due_at"] == MORNING

    service.clock.set(datetime(2025, 3, 4, 6, 59, tzinfo=timezone.utc))
    service.run_job("email-deliveries")
    assert mailbox.to("client1@home.example") == []

    service.clock.set(MORNING)
    [message] = service.wait(lambda: mailbox.to("client1@home.example"), "the morning email")
    assert message["Subject"] == "You have a new message in Stepwise"


def held_overnight(clock, start_service, auth):
    """A service at 23:00 holding a reminder email for client-1 until their quiet hours end at 07:00."""
    clock.set(NIGHT)
    service = start_service()
    quiet_preferences(service, auth, "client-1", "client1@home.example", "client")
    service.publish(questionnaire_due("client-1"))
    [delivery] = service.wait(lambda: list(service.database[config.DELIVERIES].find({"kind": "email"})), "the email delivery")
    service.wait(lambda: service.database[config.EMAIL_TIMETABLE].find_one({"delivery_id": delivery["_id"], "due_at": MORNING}),
                 "the email held until the morning")
    return service, delivery


def test_shortening_quiet_hours_releases_an_email_already_held(clock, start_service, auth, mailbox):
    service, _ = held_overnight(clock, start_service, auth)
    assert mailbox.to("client1@home.example") == []

    # Quiet hours now end at 22:30, before the 23:00 it is: the held email goes now, not at 07:00.
    shorter = {**QUIET, "end": "22:30"}
    response = service.call("PUT", "/v1/preferences/client-1", auth("client", "client-1"),
                            json={"email": "client1@home.example", "quiet_hours": shorter})
    assert response.status_code == 200, response.json

    [message] = service.wait(lambda: mailbox.to("client1@home.example"), "the released email")
    assert service.clock.now() == NIGHT
    assert message["Subject"] == "You have a new message in Stepwise"


def test_quiet_hours_changed_but_still_covering_now_keep_the_email_held(clock, start_service, auth, mailbox):
    service, delivery = held_overnight(clock, start_service, auth)

    later = {**QUIET, "end": "08:00"}
    assert service.call("PUT", "/v1/preferences/client-1", auth("client", "client-1"),
                        json={"email": "client1@home.example", "quiet_hours": later}).status_code == 200
    eight = datetime(2025, 3, 4, 8, 0, tzinfo=timezone.utc)
    service.wait(lambda: service.database[config.EMAIL_TIMETABLE].find_one({"delivery_id": delivery["_id"], "due_at": eight}),
                 "the email held until the new end")
    assert mailbox.to("client1@home.example") == []


def test_a_risk_alert_in_quiet_hours_is_emailed_at_once(clock, start_service, auth, mailbox):
    clock.set(NIGHT)
    service = start_service()
    admin = auth("admin", "admin-1")
    assert service.call("PUT", "/v1/tenant/clinicians", admin, json={"clinician_ids": ["ther-1"]}).status_code == 200
    assert service.call("PUT", "/v1/care-teams/client-1", admin, json={"therapist_ids": ["ther-1"]}).status_code == 200
    quiet_preferences(service, auth, "ther-1", "ther1@clinic.example", "therapist")

    service.publish(risk_flagged("client-1"))

    [message] = service.wait(lambda: mailbox.to("ther1@clinic.example"), "the risk alert email")
    assert message["Subject"] == "An urgent item needs your attention in Stepwise"
    assert service.clock.now() == NIGHT


def test_a_reminder_outside_quiet_hours_is_emailed_at_once_with_the_time_it_was_sent(service, auth, mailbox):
    quiet_preferences(service, auth, "client-1", "client1@home.example", "client")
    before = datetime.now(timezone.utc).replace(microsecond=0)

    service.publish(questionnaire_due("client-1"))

    [message] = service.wait(lambda: mailbox.to("client1@home.example"), "the email")
    sent_at = parsedate_to_datetime(message["Date"])
    assert before <= sent_at <= datetime.now(timezone.utc) + timedelta(seconds=1)


def test_email_switched_off_sends_nothing_and_the_inbox_still_gets_it(service, auth, mailbox):
    user = auth("client", "client-1")
    body = {"email": "client1@home.example", "channels": {"email": False}}
    assert service.call("PUT", "/v1/preferences/client-1", user, json=body).status_code == 200

    event = questionnaire_due("client-1")
    service.publish(event)

    service.wait(lambda: service.call("GET", "/v1/notifications", user).json["items"], "the inbox entry")
    assert service.database[config.DELIVERIES].count_documents({"kind": "email"}) == 0
    assert mailbox.messages == []
