"""What the care team is told beyond risk and deterioration, end to end: a PHQ-9 follow-up
reliably worse than expected by now, and a check-in left overdue. The questionnaires and
notifications services (APIs and workers) against the real broker, database and SMTP server,
driven over HTTP only."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from shared.events.registry import undeclared_fields
from tests.support.harness import wait_for

pytestmark = pytest.mark.integration

THERAPIST_EMAIL = "bo@clinic.example"
CLIENT_EMAIL = "ada@client.example"
# PHQ-9 answers in item order (item 9 = 0: no risk flag): totals 20 and 21.
PHQ9_20 = [3, 3, 3, 3, 3, 3, 2, 0, 0]
PHQ9_21 = [3, 3, 3, 3, 3, 3, 3, 0, 0]


def notes(story, role: str, user: str, kind: str) -> list[dict]:
    return [n for n in story.inbox(role, user) if n["type"] == kind]


def published(harness, queue: str, name: str, seen: dict[str, dict]) -> list[dict]:
    """The events named ``name`` published so far (``seen`` keeps what earlier calls drained)."""
    for _, body in harness.drain(queue):
        event = json.loads(body)
        seen[event["id"]] = event
    return [e for e in seen.values() if e["type"] == f"stepwise.{name}.v1"]


def test_a_phq9_follow_up_reliably_worse_than_expected_reaches_the_care_team(stack, harness):
    story, mailbox, watch = stack
    story.set_up_the_care_team(THERAPIST_EMAIL, CLIENT_EMAIL)
    now = datetime.now(timezone.utc)

    baseline = story.submit_phq9(PHQ9_20, now - timedelta(weeks=12))
    follow_up = story.submit_phq9(PHQ9_21, now)

    assert baseline["expected_recovery"] is None
    # One point above the baseline is no reliable deterioration, but by week 12 PHQ-9's rule
    # expects 25% less than the baseline (15): 21 is 6 worse, the reliable change value.
    assert follow_up["change"]["reliable_change"] == "none"
    assert follow_up["expected_recovery"] == {
        "baseline_total": 20, "weeks_since_baseline": 12.0, "expected_total": 15,
        "worse_than_expected_by": 6, "reliable_change_threshold": 6, "not_on_track": True,
    }

    [note] = wait_for(lambda: notes(story, "therapist", story.therapist, "not_on_track"),
                      what="the not-on-track note in the therapist's inbox")
    assert note["client_id"] == story.client
    assert note["title"] == "PHQ-9 not on track — please review"
    assert "total is 21 at week 12 from a baseline of 20" in note["body"]

    # The event went through the broker once, with its declared fields, for this response.
    seen: dict[str, dict] = {}
    [event] = wait_for(lambda: published(harness, watch, "questionnaire.not_on_track", seen),
                       what="questionnaire.not_on_track on the exchange")
    assert event["subject"] == follow_up["id"]
    assert event["data"]["baseline_response_id"] == baseline["id"]
    assert not undeclared_fields("questionnaire.not_on_track", event["data"])

    # The therapist's email only says there is something to read.
    [email] = wait_for(lambda: mailbox.to(THERAPIST_EMAIL), what="the therapist's email")
    body = email.get_body(preferencelist=("plain",)).get_content()
    for clinical_detail in (r"PHQ", r"\b21\b", r"\b15\b", r"track", r"score", story.client):
        assert not re.search(clinical_detail, email["Subject"] + body, re.IGNORECASE)

    # The trajectory shows it, and its chart says it.
    scores = story.call("GET", f"{story.questionnaires}/v1/clients/{story.client}/scores", "therapist",
                        story.therapist, 200, params={"instrument": "phq9"})
    assert [p["expected_recovery"] and p["expected_recovery"]["not_on_track"] for p in scores["series"][0]["points"]] \
        == [None, True]
    svg = story.session.get(f"{story.questionnaires}/v1/clients/{story.client}/scores", params={"instrument": "phq9"},
                            headers={**story.headers("therapist", story.therapist), "Accept": "image/svg+xml"},
                            timeout=15)
    assert svg.status_code == 200
    assert "not on track (expected 15 or better)" in svg.text

    # Never the client.
    assert notes(story, "client", story.client, "not_on_track") == []


def test_an_overdue_check_in_reaches_the_therapist_and_the_client_saying_overdue(stack):
    story, _, _ = stack
    story.set_up_the_care_team(THERAPIST_EMAIL, CLIENT_EMAIL)
    # Its first occurrence was due three days ago: past the 48 hours after which it is overdue.
    story.assign_phq9(datetime.now(timezone.utc) - timedelta(days=3))

    [to_therapist] = wait_for(lambda: notes(story, "therapist", story.therapist, "reminder"), timeout=20,
                              what="the overdue reminder in the therapist's inbox")
    assert to_therapist["client_id"] == story.client
    assert to_therapist["title"] == f"Client {story.client}'s PHQ-9 check-in is overdue"
    [to_client] = wait_for(lambda: notes(story, "client", story.client, "reminder"),
                           what="the overdue reminder in the client's inbox")
    assert to_client["title"].startswith("PHQ-9 check-in overdue since ")
    assert "Your PHQ-9 questionnaire is overdue" in to_client["body"]
