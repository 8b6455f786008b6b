from hypothesis import given, strategies as st

import pytest

from services.goals.domain.milestones import milestone_errors, reached_by, threshold

DOWN = {"kind": "instrument", "instrument": "phq9", "baseline": 16, "target": 10, "direction": "decrease"}
UP = {"kind": "count", "unit": "walks", "baseline": 0, "target": 10, "direction": "increase"}

FIRST = {"title": "Below 15", "value": 14}
HALFWAY = {"title": "Halfway", "percent": 50}  # 16 - 50% of 6 = 13
DONE = {"title": "Out of the clinical range", "value": 10}
DOWN_MILESTONES = [DONE, HALFWAY, FIRST]


def titles(milestones):
    return [m["title"] for m in milestones]


def test_a_percent_milestone_is_that_share_of_the_way():
    assert threshold(HALFWAY, DOWN) == 13
    assert threshold({"title": "a quarter", "percent": 25}, UP) == 2.5
    assert threshold(FIRST, DOWN) == 14


def test_a_falling_score_passes_the_milestones_it_crosses_nearest_first():
    assert titles(reached_by(DOWN_MILESTONES, 15, 13, DOWN)) == ["Below 15", "Halfway"]
    assert reached_by(DOWN_MILESTONES, 13, 12, DOWN) == []
    assert titles(reached_by(DOWN_MILESTONES, 12, 10, DOWN)) == ["Out of the clinical range"]


def test_moving_away_from_the_target_reaches_nothing():
    assert reached_by(DOWN_MILESTONES, 12, 15, DOWN) == []
    assert reached_by([{"title": "three", "value": 3}], 5, 2, UP) == []


def test_the_first_entry_passes_everything_it_meets():
    milestones = [{"title": "seven", "value": 7}, {"title": "three", "value": 3}]
    assert titles(reached_by(milestones, None, 5, UP)) == ["three"]
    assert titles(reached_by(milestones, None, 8, UP)) == ["three", "seven"]


def test_a_reached_milestone_is_not_reached_again():
    reached = {**HALFWAY, "reached_at": "2025-01-10T09:00:00Z"}
    # The score went back up to 14 and now falls to 13 again.
    assert reached_by([reached], 14, 13, DOWN) == []


@given(st.lists(st.integers(min_value=-5, max_value=15), min_size=1, max_size=30))
def test_each_milestone_is_reached_at_most_once_whatever_the_path(values):
    milestones = [{"title": str(v), "value": v} for v in (2, 5, 8, 10)]
    reached_titles, previous = [], None
    for value in values:
        for milestone in reached_by(milestones, previous, value, UP):
            milestone["reached_at"] = "now"
            reached_titles.append(milestone["title"])
        previous = value
    assert len(reached_titles) == len(set(reached_titles))
    assert set(reached_titles) == {str(v) for v in (2, 5, 8, 10) if max(values) >= v}


def test_a_valid_milestone_has_no_errors():
    assert milestone_errors({"title": "Halfway", "percent": 50, "due_date": "2025-02-01"}, DOWN) == {}
    assert milestone_errors({"title": "Below 13", "value": 12}, DOWN) == {}
    assert milestone_errors({"title": "There", "value": 10}, DOWN) == {}


@pytest.mark.parametrize("milestone, field", [
    ({"value": 12}, "title"),
    ({"title": "  ", "value": 12}, "title"),
    ({"title": "Both", "value": 12, "percent": 50}, "value"),
    ({"title": "Neither"}, "value"),
    ({"title": "Nothing", "percent": 0}, "percent"),
    ({"title": "Too far", "percent": 120}, "percent"),
    ({"title": "Past the target", "value": 9}, "value"),
    ({"title": "Already there", "value": 16}, "value"),
    ({"title": "Behind", "value": 17}, "value"),
    ({"title": "When?", "value": 12, "due_date": "next week"}, "due_date"),
])
def test_invalid_milestones_name_the_field(milestone, field):
    assert field in milestone_errors(milestone, DOWN)


def test_a_value_milestone_on_a_measure_without_both_numbers_names_the_value():
    # The measure's own errors are reported beside it (validation.milestones_errors); the value
    # cannot be placed between numbers that are not there.
    without_target = {**DOWN, "target": None}
    errors = milestone_errors({"title": "Below 13", "value": 12}, without_target)
    assert list(errors) == ["value"]
    assert "numeric starting point and target" in errors["value"][0]


def test_a_percent_milestone_of_a_measure_without_both_numbers_has_no_threshold():
    with pytest.raises(ValueError, match="numeric baseline and target"):
        threshold(HALFWAY, {**DOWN, "baseline": None})
