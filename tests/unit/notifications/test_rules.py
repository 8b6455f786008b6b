import pytest

from services.notifications.domain.rules import (
    RULES,
    URGENT,
    NO_CARE_TEAM,
    NO_CLINICIAN_ON_CARE_TEAM,
    care_team_additions,
    intents_for,
    route,
)
from shared.events.registry import REGISTRY

# Everyone these tests put on a care team is on the clinician roster (domain.rules.route).
CLINICIANS = frozenset({"t-1", "t-2", "ther-1", "ther-2", "ther-9"})

RISK = {
    "response_id": "resp-1",
    "client_id": "client-1",
    "instrument": "phq9",
    "flags": [{"code": "self_harm_risk", "item": "9", "value": 2}],
}
SCORED = {
    "response_id": "resp-2",
    "client_id": "client-1",
    "instrument": "phq9",
    "score": {"total": 17, "severity": "moderately_severe"},
    "change": {"baseline_total": 9, "previous_total": 12, "reliable_change": "deteriorated"},
}


def recipients(intents):
    return [(i.recipient_id, i.recipient_role) for i in intents]


def test_risk_flag_is_an_urgent_alert_to_each_of_the_care_team(make_event):
    intents = intents_for(make_event("risk.flagged", RISK), ["ther-1", "ther-2"], ["admin-1"], CLINICIANS)

    assert recipients(intents) == [("ther-1", "therapist"), ("ther-2", "therapist")]
    for intent in intents:
        assert intent.type == "risk_alert"
        assert intent.priority == "urgent"
        assert intent.creates_alert is True
        assert intent.client_id == "client-1"
        assert intent.tenant_id == "clinic-1"
        assert intent.event_id == "evt-1"
        assert intent.template == "risk_alert"
        assert intent.context == {
            "instrument": "phq9",
            "response_id": "resp-1",
            "flags": [{"code": "self_harm_risk", "item": "9", "value": 2}],
        }


def test_risk_flag_without_care_team_goes_to_admins(make_event):
    intents = intents_for(make_event("risk.flagged", RISK), [], ["admin-1", "admin-2"], CLINICIANS)

    assert recipients(intents) == [("admin-1", "admin"), ("admin-2", "admin")]
    assert all(i.priority == "urgent" and i.creates_alert for i in intents)


def test_risk_flag_naming_its_therapist_reaches_them_before_the_team_is_stored(make_event):
    event = make_event("risk.flagged", {**RISK, "therapist_id": "ther-9"})

    assert recipients(intents_for(event, [], ["admin-1"], CLINICIANS)) == [("ther-9", "therapist")]


def test_questionnaire_due_reminds_the_client(make_event):
    data = {"assignment_id": "asg-1", "client_id": "client-1", "instrument": "gad7",
            "due_at": "2025-03-03T09:00:00Z"}

    [intent] = intents_for(make_event("questionnaire.due", data), ["ther-1"], ["admin-1"], CLINICIANS)

    assert (intent.type, intent.priority, intent.template) == ("reminder", "normal", "questionnaire_due")
    assert (intent.recipient_id, intent.recipient_role) == ("client-1", "client")
    assert intent.creates_alert is False
    assert intent.context == {"instrument": "gad7", "assignment_id": "asg-1",
                              "due_at": "2025-03-03T09:00:00Z", "overdue": False}


def test_an_overdue_questionnaire_reaches_the_client_and_the_care_team(make_event):
    data = {"assignment_id": "asg-1", "client_id": "client-1", "instrument": "gad7",
            "due_at": "2025-03-03T09:00:00Z", "kind": "overdue"}

    intents = intents_for(make_event("questionnaire.due", data), ["ther-1", "ther-2"], ["admin-1"], CLINICIANS)

    assert recipients(intents) == [("client-1", "client"), ("ther-1", "therapist"), ("ther-2", "therapist")]
    assert {(i.type, i.template, i.context["overdue"]) for i in intents} == {("reminder", "questionnaire_due", True)}


def test_an_overdue_questionnaire_without_a_care_team_reaches_the_client_only(make_event):
    data = {"client_id": "client-1", "instrument": "gad7", "kind": "overdue"}

    intents = intents_for(make_event("questionnaire.due", data), [], ["admin-1"], CLINICIANS)

    assert recipients(intents) == [("client-1", "client")]


NOT_ON_TRACK = {
    "response_id": "resp-3", "client_id": "client-1", "instrument": "phq9", "therapist_id": None,
    "completed_at": "2025-03-03T09:00:00Z", "total": 21, "baseline_response_id": "resp-1",
    "baseline_total": 20, "weeks_since_baseline": 12.0, "expected_total": 15, "worse_than_expected_by": 6,
    "reliable_change_threshold": 6,
}


def test_not_on_track_tells_the_care_team_and_never_the_client(make_event):
    intents = intents_for(make_event("questionnaire.not_on_track", NOT_ON_TRACK), ["ther-1"], ["admin-1"], CLINICIANS)

    assert recipients(intents) == [("ther-1", "therapist")]
    [intent] = intents
    assert (intent.type, intent.priority, intent.template) == ("not_on_track", "normal", "not_on_track")
    assert intent.context == {"instrument": "phq9", "response_id": "resp-3", "total": 21, "expected_total": 15,
                              "baseline_total": 20, "weeks_since_baseline": 12.0}


def test_not_on_track_naming_its_therapist_reaches_them_before_the_team_is_stored(make_event):
    event = make_event("questionnaire.not_on_track", {**NOT_ON_TRACK, "therapist_id": "ther-9"})

    assert recipients(intents_for(event, [], ["admin-1"], CLINICIANS)) == [("ther-9", "therapist")]
    assert intents_for(make_event("questionnaire.not_on_track", NOT_ON_TRACK), [], ["admin-1"], CLINICIANS) == []


def test_goal_due_soon_reminds_the_client(make_event):
    data = {"goal_id": "goal-1", "client_id": "client-1", "target_date": "2025-04-01",
            "title": "Walk every day"}

    [intent] = intents_for(make_event("goal.due_soon", data), ["ther-1"], [], CLINICIANS)

    assert (intent.type, intent.priority, intent.template) == ("reminder", "normal", "goal_due_soon")
    assert recipients([intent]) == [("client-1", "client")]
    assert intent.context == {"goal_id": "goal-1", "goal_title": "Walk every day",
                              "target_date": "2025-04-01"}


@pytest.mark.parametrize(
    ("key", "notification_type"),
    [("goal.milestone_reached", "milestone"), ("goal.achieved", "goal_achieved")],
)
def test_goal_successes_go_to_client_and_therapists(make_event, key, notification_type):
    data = {"goal_id": "goal-1", "client_id": "client-1", "milestone": {"title": "Ten walks"}}

    intents = intents_for(make_event(key, data), ["ther-1", "ther-2"], ["admin-1"], CLINICIANS)

    assert recipients(intents) == [
        ("client-1", "client"), ("ther-1", "therapist"), ("ther-2", "therapist")
    ]
    assert {(i.type, i.priority, i.template) for i in intents} == {
        (notification_type, "normal", notification_type)
    }


def test_milestone_context_takes_the_milestone_title(make_event):
    data = {"goal_id": "goal-1", "client_id": "client-1", "milestone": {"title": "Ten walks"}}

    [intent] = intents_for(make_event("goal.milestone_reached", data), [], [], CLINICIANS)

    assert intent.context == {"goal_id": "goal-1", "goal_title": None, "milestone": "Ten walks"}


def test_goal_success_without_care_team_tells_only_the_client_not_the_admins(make_event):
    data = {"goal_id": "goal-1", "client_id": "client-1"}

    intents = intents_for(make_event("goal.achieved", data), [], ["admin-1"], CLINICIANS)

    assert recipients(intents) == [("client-1", "client")]


def test_reliable_deterioration_is_a_note_to_the_therapists(make_event):
    intents = intents_for(make_event("questionnaire.scored", SCORED), ["ther-1"], ["admin-1"], CLINICIANS)

    assert recipients(intents) == [("ther-1", "therapist")]
    [intent] = intents
    assert (intent.type, intent.priority, intent.creates_alert) == ("deterioration", "normal", False)
    assert intent.context == {"instrument": "phq9", "response_id": "resp-2", "total": 17,
                              "severity": "moderately_severe", "baseline_total": 9,
                              "previous_total": 12}


def test_reliable_deterioration_without_care_team_goes_to_admins(make_event):
    intents = intents_for(make_event("questionnaire.scored", SCORED), [], ["admin-1"], CLINICIANS)

    assert recipients(intents) == [("admin-1", "admin")]


@pytest.mark.parametrize("reliable_change", ["improved", "none", None])
def test_scored_without_deterioration_notifies_nobody(make_event, reliable_change):
    data = {**SCORED, "change": {**SCORED["change"], "reliable_change": reliable_change}}

    assert intents_for(make_event("questionnaire.scored", data), ["ther-1"], ["admin-1"], CLINICIANS) == []


@pytest.mark.parametrize(
    "key",
    ["goal.created", "goal.revised", "goal.progress_recorded", "goal.status_changed",
     "questionnaire.assigned", "notification.delivered", "notification.failed"],
)
def test_events_without_a_rule_notify_nobody(make_event, key):
    data = {"goal_id": "goal-1", "client_id": "client-1", "assigned_by": "ther-1"}

    assert intents_for(make_event(key, data), ["ther-1"], ["admin-1"], CLINICIANS) == []


def test_each_person_is_told_once(make_event):
    data = {"goal_id": "goal-1", "client_id": "client-1", "therapist_id": "ther-1"}

    intents = intents_for(make_event("goal.achieved", data), ["ther-1", "ther-1"], [], CLINICIANS)

    assert recipients(intents) == [("client-1", "client"), ("ther-1", "therapist")]


def test_what_a_notification_shows_is_read_as_the_registry_defines_it(make_event):
    # A field the registry does not define on a flag (an item's wording, say) is not carried into the alert.
    data = {**RISK, "flags": [{**RISK["flags"][0], "text": "the item's wording"}]}
    [intent] = intents_for(make_event("risk.flagged", data), ["ther-1"], [], CLINICIANS)

    assert intent.context["flags"] == [{"code": "self_harm_risk", "item": "9", "value": 2}]


def test_a_rule_showing_a_field_the_registry_does_not_define_is_refused():
    with pytest.raises(KeyError, match=r"score\.sum"):
        REGISTRY["questionnaire.scored"].require(["score.sum"])
    with pytest.raises(KeyError, match="title"):
        REGISTRY["questionnaire.due"].require(["instrument", "title"])


def test_every_rule_names_a_known_type_priority_and_audience():
    for rule in RULES.values():
        assert rule.priority in {"urgent", "normal"}
        assert rule.audiences
        assert set(rule.audiences) <= {"client", "care_team", "clinicians"}


@pytest.mark.parametrize(
    ("key", "data", "expected"),
    [
        ("questionnaire.assigned", {"client_id": "c", "assigned_by": "ther-1"}, ["ther-1"]),
        ("goal.created", {"client_id": "c", "therapist_id": "ther-2"}, ["ther-2"]),
        ("goal.achieved", {"client_id": "c", "therapist_id": "ther-2"}, ["ther-2"]),
        ("risk.flagged", {"client_id": "c", "therapist_id": "ther-3"}, ["ther-3"]),
        ("questionnaire.scored", {"client_id": "c", "therapist_id": "ther-4"}, ["ther-4"]),
        ("questionnaire.not_on_track", {"client_id": "c", "therapist_id": "ther-7"}, ["ther-7"]),
        ("risk.flagged", {"client_id": "c"}, []),
        ("goal.created", {"client_id": "c", "therapist_id": None}, []),
        ("questionnaire.due", {"client_id": "c", "therapist_id": "ther-5"}, []),
        ("questionnaire.assigned", {"client_id": "c", "assigned_by": "c"}, []),
        ("questionnaire.assigned", {"client_id": "c", "assigned_by": "admin-1", "therapist_id": "ther-6"},
         ["admin-1", "ther-6"]),
    ],
)
def test_care_team_additions(make_event, key, data, expected):
    assert care_team_additions(make_event(key, data)) == expected


def test_urgent_events_have_their_own_queue_and_every_rule_is_consumed_exactly_once():
    from services.notifications.domain.signing import matches
    from services.notifications.handlers import ROUTINE_PATTERNS, URGENT_PATTERNS

    assert URGENT_PATTERNS == ("risk.flagged",)
    for key, rule in RULES.items():
        urgent = any(matches(p, key) for p in URGENT_PATTERNS)
        routine = any(matches(p, key) for p in ROUTINE_PATTERNS)
        assert urgent != routine, key
        assert urgent == (rule.priority == URGENT), key


def test_only_clinicians_on_the_roster_are_routed_to():
    routing = route(["ther-1", "svc-platform", "admin-1", "client-7", "ther-1"], frozenset({"ther-1", "ther-2"}))

    assert routing.clinicians == ("ther-1",)
    assert routing.not_clinicians == ("svc-platform", "admin-1", "client-7")
    assert routing.reason is None
    assert route([], frozenset({"ther-1"})).reason == NO_CARE_TEAM
    assert route(["svc-platform"], frozenset({"ther-1"})).reason == NO_CLINICIAN_ON_CARE_TEAM


def test_a_risk_flag_for_a_care_team_grown_from_non_clinician_ids_goes_to_the_admins_saying_why(make_event):
    # Issue 10: a service account that assigned a questionnaire, an admin, and a client id given
    # as a goal's therapist_id had all joined the care team and received the alert.
    event = make_event("risk.flagged", {**RISK, "therapist_id": "client-2"})
    intents = intents_for(event, ["svc-platform", "admin-1"], ["admin-1", "admin-2"], CLINICIANS)

    assert recipients(intents) == [("admin-1", "admin"), ("admin-2", "admin")]
    assert {i.context["routing_reason"] for i in intents} == {NO_CLINICIAN_ON_CARE_TEAM}
    assert all(i.priority == "urgent" and i.creates_alert for i in intents)


def test_a_clinician_with_others_on_the_team_is_told_alone_and_the_others_never(make_event):
    intents = intents_for(make_event("risk.flagged", RISK), ["svc-platform", "ther-2"], ["admin-1"], CLINICIANS)

    assert recipients(intents) == [("ther-2", "therapist")]
    assert "routing_reason" not in intents[0].context


def test_milestones_reach_only_the_clinicians_of_the_care_team(make_event):
    data = {"goal_id": "g-1", "client_id": "client-1", "title": "Walk", "milestone": {"title": "Half way"}}
    intents = intents_for(make_event("goal.milestone_reached", data), ["ther-1", "admin-1"], ["admin-1"], CLINICIANS)

    assert recipients(intents) == [("client-1", "client"), ("ther-1", "therapist")]
