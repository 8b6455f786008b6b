import pytest

from services.goals.domain.measure import direction_of, is_met, value_problem

RANGES = {"phq9": (0, 27)}


def test_direction_is_the_explicit_one_or_read_from_the_numbers():
    assert direction_of({"direction": "increase", "baseline": 20, "target": 19}) == "increase"
    assert direction_of({"baseline": 20, "target": 19}) == "decrease"
    assert direction_of({"baseline": 0, "target": 10}) == "increase"
    assert direction_of({"baseline": 0}) is None


def test_reaching_the_threshold_exactly_counts():
    assert is_met(9, 9, "decrease") and is_met(8, 9, "decrease") and not is_met(10, 9, "decrease")
    assert is_met(10, 10, "increase") and not is_met(9.9, 10, "increase")


@pytest.mark.parametrize("measure, value, words", [
    ({"kind": "boolean"}, 2, "0 or 1"),
    ({"kind": "count"}, -1, "negative"),
    ({"kind": "duration", "unit": "minutes", "per": "day"}, 1441, "in a day"),
    ({"kind": "duration", "unit": "hours", "per": "week"}, 169, "in a week"),
    ({"kind": "instrument", "instrument": "phq9"}, 28, "0–27"),
])
def test_impossible_values_are_explained(measure, value, words):
    assert words in value_problem(measure, value, RANGES)


@pytest.mark.parametrize("measure, value", [
    ({"kind": "boolean"}, 1),
    ({"kind": "boolean"}, True),
    ({"kind": "count"}, 0),
    ({"kind": "duration", "unit": "minutes", "per": "day"}, 1440),
    ({"kind": "duration", "unit": "pages", "per": "day"}, 5000),  # unknown unit: not checked
    ({"kind": "instrument", "instrument": "phq9"}, 27),
    ({"kind": "instrument", "instrument": "mystery"}, 500),      # unknown range: not checked
    ({"kind": "scale"}, -3),
])
def test_possible_values_have_no_problem(measure, value):
    assert value_problem(measure, value, RANGES) is None
