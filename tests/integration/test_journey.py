"""The journey, end to end: the three services' APIs and workers against the real broker,
database and SMTP server, a webhook subscriber on loopback, and the client's story over HTTP only
(the same story as ``scripts/demo``)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from scripts.demo import FIRST_PHQ9, LATER_PHQ9
from services.notifications.domain.signing import SIGNATURE_HEADER, verify
from shared.events.registry import undeclared_fields
from tests.support.harness import wait_for

pytestmark = pytest.mark.integration

WEBHOOK_SECRET = "journey-webhook-secret-0123456789"
THERAPIST_EMAIL = "bo@clinic.example"
CLIENT_EMAIL = "ada@client.example"
# "Within seconds": the alert must reach the inbox and the SMTP server this fast.
ALERT_WITHIN_SECONDS = 10


def test_a_clients_journey_from_risk_to_recovery(stack, harness, receiver):
    story, mailbox, watch = stack
    # The story began four weeks ago (answers cannot be dated in the future); the last response is now.
    began = datetime.now(timezone.utc) - timedelta(weeks=len(LATER_PHQ9) * 2)

    story.set_up_the_care_team(THERAPIST_EMAIL, CLIENT_EMAIL)
    story.subscribe_webhook(receiver.url, WEBHOOK_SECRET)
    goal = story.set_the_goal(began.date())
    assert goal["status"] == "active"
    story.assign_phq9(began)

    first = story.submit_phq9(FIRST_PHQ9, began)
    assert first["score"]["total"] == 16
    assert first["score"]["flags"] == [{"code": "self_harm_risk", "item": "9", "value": 1}]

    # The therapist is told at once: an urgent inbox entry and an email.
    alert = wait_for(
        lambda: [n for n in story.inbox("therapist", story.therapist) if n["type"] == "risk_alert"],
        timeout=ALERT_WITHIN_SECONDS, what="the urgent alert in the therapist's inbox",
    )[0]
    assert alert["priority"] == "urgent"
    assert alert["client_id"] == story.client
    [urgent_email] = wait_for(lambda: mailbox.to(THERAPIST_EMAIL), timeout=ALERT_WITHIN_SECONDS, what="the alert email")
    body = urgent_email.get_body(preferencelist=("plain",)).get_content()
    for clinical_detail in (r"PHQ", r"\b16\b", r"harm", r"item 9", r"suicid", r"risk", story.client):
        assert not re.search(clinical_detail, urgent_email["Subject"], re.IGNORECASE)
        assert not re.search(clinical_detail, body, re.IGNORECASE)

    # Later responses fall to 8: the goal fed by PHQ-9 reaches its target with nobody logging it.
    for weeks, answers in enumerate(LATER_PHQ9, start=2):
        story.submit_phq9(answers, min(began + timedelta(weeks=weeks), datetime.now(timezone.utc)))
    achieved = wait_for(lambda: (g := story.goal(goal["id"]))["status"] == "achieved" and g, what="goal achieved")
    assert achieved["progress"]["current"] == 8
    assert achieved["progress"]["percent"] == 100
    for role, user in (("client", story.client), ("therapist", story.therapist)):
        wait_for(
            lambda role=role, user=user: [n for n in story.inbox(role, user) if n["type"] == "goal_achieved"],
            what=f"the {role}'s goal-achieved note",
        )

    # The webhook subscriber received every event it subscribed to, each signed.
    def subscribed(routing_key: str) -> bool:
        return routing_key.split(".")[0] in ("goal", "questionnaire", "risk")

    published: dict[str, dict] = {}

    def every_event_delivered() -> bool:
        for _, body in harness.drain(watch):
            event = json.loads(body)
            published[event["id"]] = event
        wanted = {i for i, e in published.items() if subscribed(e["type"].removeprefix("stepwise.").removesuffix(".v1"))}
        received = {json.loads(body)["id"] for _, body in receiver.requests}
        return bool(wanted) and wanted <= received

    wait_for(every_event_delivered, timeout=20, what="every subscribed event at the webhook")
    kinds = {e["type"] for e in published.values()}
    assert {
        "stepwise.goal.created.v1", "stepwise.questionnaire.assigned.v1", "stepwise.questionnaire.scored.v1",
        "stepwise.risk.flagged.v1", "stepwise.goal.progress_recorded.v1", "stepwise.goal.achieved.v1",
    } <= kinds
    # Every field the services put in an event is in the published contract (AsyncAPI).
    for event in published.values():
        name = event["type"].removeprefix("stepwise.").removesuffix(".v1")
        assert not undeclared_fields(name, event["data"]), (name, undeclared_fields(name, event["data"]))
    for headers, body in receiver.requests:
        signature = {k.lower(): v for k, v in headers.items()}[SIGNATURE_HEADER.lower()]
        assert verify(WEBHOOK_SECRET, body, signature, datetime.now(timezone.utc))
