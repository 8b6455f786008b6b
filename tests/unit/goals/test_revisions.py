import pytest

from services.goals.domain.revisions import NotRevisable, diff, revise

GOAL = {
    "id": "g1", "tenant": "clinic-1", "client_id": "c1", "status": "active",
    "title": "Bring my PHQ-9 score below 10", "description": "", "category": "emotional_wellbeing",
    "measure": {"kind": "instrument", "instrument": "phq9", "baseline": 16, "target": 10,
                "direction": "decrease"},
    "start_date": "2025-01-06", "target_date": "2025-03-31", "parent_goal_id": None,
    "therapist_id": "t1",
}


def test_nothing_changed_is_an_empty_diff():
    assert diff(GOAL, dict(GOAL)) == {}


def test_top_level_fields_are_reported_from_and_to():
    after = {**GOAL, "title": "PHQ-9 below 10 by April", "target_date": "2025-04-30"}
    assert diff(GOAL, after) == {
        "title": {"from": "Bring my PHQ-9 score below 10", "to": "PHQ-9 below 10 by April"},
        "target_date": {"from": "2025-03-31", "to": "2025-04-30"},
    }


def test_only_the_measure_fields_that_changed_are_reported():
    after = {**GOAL, "measure": {**GOAL["measure"], "target": 9}}
    assert diff(GOAL, after) == {"measure": {"from": {"target": 10}, "to": {"target": 9}}}


def test_no_reported_field_name_has_a_dot_which_the_database_would_refuse():
    after = {**GOAL, "measure": {**GOAL["measure"], "target": 9, "per": "week"}, "title": "x"}
    assert not any("." in name for name in diff(GOAL, after))


def test_a_field_missing_on_one_side_counts_as_none():
    after = {key: value for key, value in GOAL.items() if key != "therapist_id"}
    assert diff(GOAL, after) == {"therapist_id": {"from": "t1", "to": None}}
    added = diff({**GOAL, "measure": None}, GOAL)["measure"]
    assert added["from"]["baseline"] is None and added["to"]["baseline"] == 16


def test_owner_and_status_are_not_part_of_a_revision():
    after = {**GOAL, "client_id": "c2", "tenant": "clinic-2", "status": "achieved"}
    assert diff(GOAL, after) == {}


def test_revise_merges_a_partial_measure_and_returns_the_changes():
    after, changes = revise(GOAL, {"measure": {"target": 9}, "description": "below 10 means 9"})
    assert after["measure"] == {**GOAL["measure"], "target": 9}
    assert changes == {"measure": {"from": {"target": 10}, "to": {"target": 9}},
                       "description": {"from": "", "to": "below 10 means 9"}}
    assert GOAL["measure"]["target"] == 10  # the stored version is untouched


@pytest.mark.parametrize("patch", [{"client_id": "c2"}, {"tenant": "x"}, {"status": "achieved"},
                                   {"title": "ok", "milestones": []}])
def test_revise_refuses_fields_that_cannot_be_revised(patch):
    with pytest.raises(NotRevisable) as refused:
        revise(GOAL, patch)
    assert set(refused.value.fields) == set(patch) - {"title"}
