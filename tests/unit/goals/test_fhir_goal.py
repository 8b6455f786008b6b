"""services.goals.fhir: a goal's statuses in FHIR R4's value sets, its targets and milestones."""
from datetime import datetime, timezone

import pytest

from services.goals.domain.lifecycle import STATUSES
from services.goals.fhir import LIFECYCLE, achievement, goal_resource

# FHIR R4 (4.0.1) GoalLifecycleStatus (http://hl7.org/fhir/R4/valueset-goal-status.html,
# a required binding) and goal-achievement (http://hl7.org/fhir/R4/codesystem-goal-achievement.html).
GOAL_STATUS = {"proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled", "entered-in-error",
               "rejected"}
GOAL_ACHIEVEMENT = {"in-progress", "improving", "worsening", "no-change", "achieved", "sustaining", "not-achieved",
                    "no-progress", "not-attainable"}
AT = datetime(2026, 1, 31, 9, tzinfo=timezone.utc)


def shown(**changes) -> dict:
    """A goal as views.goal_view shows it."""
    goal: dict = {
        "id": "g1", "client_id": "ada", "title": "PHQ-9 below 10", "description": None, "category": None,
        "status": "active", "created_at": AT, "updated_at": AT, "revisions": [],
        "start_date": "2026-01-01", "target_date": "2026-04-01",
        "measure": {"kind": "instrument", "instrument": "phq9", "baseline": 16, "target": 9, "direction": "decrease"},
        "milestones": [], "subgoals": [],
        "progress": {"current": None, "percent": None, "trend": None, "on_track": None, "target_met": False},
    }
    goal.update(changes)
    return goal


def test_every_status_maps_into_the_r4_lifecycle_value_set():
    assert set(LIFECYCLE) == set(STATUSES)
    assert set(LIFECYCLE.values()) <= GOAL_STATUS


@pytest.mark.parametrize("status, trend, met, expected", [
    ("active", None, False, "in-progress"),
    ("active", "improving", False, "improving"),
    ("on_hold", "worsening", False, "worsening"),
    ("active", "flat", False, "no-change"),
    ("active", "improving", True, "achieved"),
    ("achieved", None, False, "achieved"),
    ("abandoned", "improving", False, "not-achieved"),
])
def test_achievement_follows_status_target_and_trend(status, trend, met, expected):
    progress = {"current": 12, "percent": 50, "trend": trend, "on_track": True, "target_met": met}
    assert achievement(shown(status=status, progress=progress)) == expected
    assert expected in GOAL_ACHIEVEMENT


def test_the_status_date_is_the_last_status_change_not_the_last_revision():
    revisions = [{"kind": "status", "at": datetime(2026, 2, 1, tzinfo=timezone.utc)},
                 {"kind": "revise", "at": datetime(2026, 3, 1, tzinfo=timezone.utc)}]
    assert goal_resource(shown(revisions=revisions), [], {})["statusDate"] == "2026-02-01"
    assert goal_resource(shown(), [], {})["statusDate"] == "2026-01-31"


def test_a_yes_no_goal_targets_a_boolean_and_an_umbrella_goal_has_no_target():
    boolean = goal_resource(shown(measure={"kind": "boolean", "baseline": 0, "target": 1}), [], {})
    assert boolean["target"][0]["detailBoolean"] is True
    assert "target" not in goal_resource(shown(measure=None), [], {})


def test_milestones_are_targets_of_their_own_and_scores_are_outcomes():
    goal = shown(milestones=[{"id": "m1", "title": "Halfway", "threshold": 12.5, "due_date": "2026-02-15",
                              "reached_at": AT}])
    codes = {"phq9": [{"system": "http://loinc.org", "code": "44261-6"}]}
    resource = goal_resource(goal, [{"value": 12, "response_id": "r1"}, {"value": 11}], codes)
    target, milestone = resource["target"]
    assert target["measure"]["coding"] == codes["phq9"] and target["detailQuantity"]["value"] == 9
    assert milestone["detailQuantity"]["value"] == 12.5 and milestone["dueDate"] == "2026-02-15"
    assert milestone["extension"][0]["extension"] == [
        {"url": "title", "valueString": "Halfway"}, {"url": "reached", "valueDateTime": "2026-01-31T09:00:00.000Z"}]
    assert resource["outcomeReference"] == [{"reference": "Observation/r1"}]
