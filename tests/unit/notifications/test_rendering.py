import re
from datetime import datetime, timezone
from typing import Any

import pytest

from services.notifications.domain.escalation import (
    ESCALATED_TYPE,
    escalation_intents,
)
from services.notifications.domain.rendering import LINK_PLACEHOLDER, render
from services.notifications.domain.rules import RULES, intents_for

# Everyone these tests put on a care team is on the clinician roster (domain.rules.route).
CLINICIANS = frozenset({"t-1", "t-2", "ther-1", "ther-2", "ther-9"})

# Distinctive values, so that finding one in an email can only mean it leaked. Numbers avoid 8
# ("utf-8" is in every HTML email).
FULL: dict[str, dict[str, Any]] = {
    "risk.flagged": {
        "response_id": "resp-4411", "client_id": "client-7731", "instrument": "phq9",
        "flags": [{"code": "self_harm_risk", "item": 9, "value": 3}],
    },
    "questionnaire.due": {
        "assignment_id": "asg-5521", "client_id": "client-7731", "instrument": "gad7",
        "due_at": "2025-03-03T09:00:00Z",
    },
    "goal.due_soon": {
        "goal_id": "goal-6631", "client_id": "client-7731", "target_date": "2025-04-01",
        "title": "Sleep before midnight",
    },
    "goal.milestone_reached": {
        "goal_id": "goal-6631", "client_id": "client-7731", "title": "Sleep before midnight",
        "milestone": {"title": "Five early nights"},
    },
    "goal.achieved": {
        "goal_id": "goal-6631", "client_id": "client-7731", "title": "Sleep before midnight",
    },
    "questionnaire.scored": {
        "response_id": "resp-4412", "client_id": "client-7731", "instrument": "phq9",
        "score": {"total": 23, "severity": "severe"},
        "change": {"baseline_total": 11, "previous_total": 17, "reliable_change": "deteriorated"},
    },
    "questionnaire.not_on_track": {
        "response_id": "resp-4413", "client_id": "client-7731", "instrument": "phq9", "total": 24,
        "baseline_total": 23, "weeks_since_baseline": 12.5, "expected_total": 17.25,
        "worse_than_expected_by": 6.75, "reliable_change_threshold": 6,
    },
}
# What an event may leave out: optional fields absent, so templates must not print "None".
SPARSE = {
    "risk.flagged": {"client_id": "client-7731", "flags": []},
    "questionnaire.due": {"client_id": "client-7731"},
    "goal.due_soon": {"client_id": "client-7731"},
    "goal.milestone_reached": {"client_id": "client-7731"},
    "goal.achieved": {"client_id": "client-7731"},
    "questionnaire.scored": {"client_id": "client-7731", "change": {"reliable_change": "deteriorated"}},
    "questionnaire.not_on_track": {"client_id": "client-7731"},
}
# An overdue reminder reaches the care team too: every sample set also has one.
OVERDUE = {"questionnaire.due#overdue": {**FULL["questionnaire.due"], "kind": "overdue"}}
# Words that would tell an email reader about someone's mental health or therapy content.
CLINICAL_WORDS = ["phq", "gad", "who-5", "score", "risk", "self harm", "self_harm", "deteriorat",
                  "severe", "goal", "milestone", "questionnaire", "baseline", "answered"]


def all_intents(samples, make_event, raised_alert):
    """Every notification the samples lead to, for every kind of recipient, escalations included."""
    intents = []
    for key, data in {**samples, **OVERDUE}.items():
        for team in (["ther-1"], []):
            intents += intents_for(make_event(key.split("#")[0], data), team, ["admin-1"], CLINICIANS)
    risk = make_event("risk.flagged", samples["risk.flagged"])
    alert = raised_alert("alert-9931", risk, ["ther-1"], datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc))
    return intents + escalation_intents(
        alert, ["admin-1"], datetime(2025, 3, 3, 9, 47, tzinfo=timezone.utc)
    )


def leaves(value):
    """Every scalar inside a context, as the text it would show as."""
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v)]
    return [] if value is None else [str(value)]


def test_samples_cover_every_rule():
    assert set(FULL) == set(RULES) == set(SPARSE)


def test_inbox_risk_alert_tells_the_therapist_what_to_review(make_event):
    [intent] = intents_for(make_event("risk.flagged", FULL["risk.flagged"]), ["ther-1"], [], CLINICIANS)

    rendered = render(intent, "inbox")

    assert rendered.title == "PHQ-9 item 9 answered 3 — please review"
    assert "client-7731" in rendered.text
    assert "self harm risk" in rendered.text
    assert "acknowledge" in rendered.text


def test_inbox_risk_alert_to_admins_says_why_it_came_to_them(make_event):
    [intent] = intents_for(make_event("risk.flagged", FULL["risk.flagged"]), [], ["admin-1"], CLINICIANS)

    assert "no therapist on their care team" in render(intent, "inbox").text


def test_inbox_deterioration_carries_the_scores(make_event):
    [intent] = intents_for(make_event("questionnaire.scored", FULL["questionnaire.scored"]),
                           ["ther-1"], [], CLINICIANS)

    rendered = render(intent, "inbox")

    assert rendered.title == "PHQ-9 reliable deterioration: now 23 — please review"
    assert "now 23 (severe), against 11 at baseline and 17 last time" in rendered.text


def test_inbox_client_reminder_names_instrument_and_day(make_event):
    [intent] = intents_for(make_event("questionnaire.due", FULL["questionnaire.due"]), [], [], CLINICIANS)

    rendered = render(intent, "inbox")

    assert rendered.title == "GAD-7 check-in due 3 March 2025"


def test_an_overdue_reminder_says_overdue_to_the_client_and_to_the_therapist(make_event):
    event = make_event("questionnaire.due", OVERDUE["questionnaire.due#overdue"])
    client, therapist = intents_for(event, ["ther-1"], [], CLINICIANS)

    to_client, to_therapist = render(client, "inbox"), render(therapist, "inbox")

    assert to_client.title == "GAD-7 check-in overdue since 3 March 2025"
    assert to_client.text.startswith("Your GAD-7 questionnaire is overdue: it was due on 3 March 2025.")
    assert to_therapist.title == "Client client-7731's GAD-7 check-in is overdue"
    assert "Client client-7731 has not completed the GAD-7 check-in that was due on 3 March 2025" in to_therapist.text


def test_inbox_not_on_track_tells_the_clinician_the_scores_and_that_it_is_a_rule(make_event):
    [intent] = intents_for(make_event("questionnaire.not_on_track", FULL["questionnaire.not_on_track"]),
                           ["ther-1"], [], CLINICIANS)

    rendered = render(intent, "inbox")

    assert rendered.title == "PHQ-9 not on track — please review"
    assert ("Client client-7731's PHQ-9 total is 24 at week 12.5 from a baseline of 23: reliably worse than the "
            "17.25 or better expected by now.") in rendered.text
    assert "not a prediction for this client" in rendered.text


def test_milestone_reads_differently_for_client_and_therapist(make_event):
    event = make_event("goal.milestone_reached", FULL["goal.milestone_reached"])
    client, therapist = intents_for(event, ["ther-1"], [], CLINICIANS)

    assert render(client, "inbox").title == "Milestone reached: Five early nights"
    assert render(therapist, "inbox").title == "Client client-7731 reached a milestone"


@pytest.mark.parametrize("samples", [FULL, SPARSE], ids=["full", "sparse"])
def test_inbox_renders_every_intent_without_gaps(make_event, raised_alert, samples):
    for intent in all_intents(samples, make_event, raised_alert):
        rendered = render(intent, "inbox")
        assert rendered.title and rendered.text and rendered.html
        for part in (rendered.title, rendered.text, rendered.html):
            assert "None" not in part, (intent.type, part)
        for sentence in [rendered.title, *rendered.text.split("\n\n")]:
            assert not re.search(r"\s[.,)]|\s\s", sentence), (intent.type, sentence)


def test_html_is_autoescaped(make_event):
    data = {**FULL["goal.achieved"], "title": "<script>alert(1)</script>"}
    [intent] = intents_for(make_event("goal.achieved", data), [], [], CLINICIANS)

    rendered = render(intent, "inbox")

    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "<script>" in rendered.text


@pytest.mark.parametrize("samples", [FULL, SPARSE], ids=["full", "sparse"])
def test_email_carries_no_clinical_detail_for_any_type(make_event, raised_alert, samples):
    intents = all_intents(samples, make_event, raised_alert)
    assert {i.type for i in intents} == {rule.type for rule in RULES.values()} | {ESCALATED_TYPE}

    for intent in intents:
        rendered = render(intent, "email", link="https://app.example/notifications/abc")
        forbidden = leaves(intent.context) + [intent.client_id]
        for part in (rendered.title, rendered.text, rendered.html):
            lowered = part.lower()
            for value in forbidden:
                assert not re.search(rf"\b{re.escape(value.lower())}\b", lowered), (intent.type, value)
            for word in CLINICAL_WORDS:
                assert word not in lowered, (intent.type, word)


def test_email_wording_depends_only_on_priority(make_event):
    risk = intents_for(make_event("risk.flagged", FULL["risk.flagged"]), ["ther-1"], [], CLINICIANS)[0]
    achieved = intents_for(make_event("goal.achieved", FULL["goal.achieved"]), [], [], CLINICIANS)[0]

    assert render(risk, "email").title == "An urgent item needs your attention in Stepwise"
    assert render(achieved, "email").title == "You have a new message in Stepwise"


def test_email_links_to_stepwise(make_event):
    [intent] = intents_for(make_event("goal.achieved", FULL["goal.achieved"]), [], [], CLINICIANS)

    with_link = render(intent, "email", link="https://app.example/notifications/abc")
    without_link = render(intent, "email")

    assert "Open Stepwise: https://app.example/notifications/abc" in with_link.text
    assert '<a href="https://app.example/notifications/abc">' in with_link.html
    assert LINK_PLACEHOLDER in without_link.text


def test_unknown_channel_is_refused(make_event):
    [intent] = intents_for(make_event("goal.achieved", FULL["goal.achieved"]), [], [], CLINICIANS)

    with pytest.raises(ValueError, match="webhook"):
        render(intent, "webhook")
