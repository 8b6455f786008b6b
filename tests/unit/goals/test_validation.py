from services.goals.domain.validation import goal_errors, measure_errors, milestones_errors

PHQ9 = {"phq9": (0, 27)}
GOOD = {"kind": "instrument", "instrument": "phq9", "baseline": 16, "target": 9, "direction": "decrease"}


def test_a_complete_measure_and_ordered_dates_pass():
    assert goal_errors({"measure": GOOD, "start_date": "2026-01-01", "target_date": "2026-03-01"}, PHQ9) == {}


def test_a_goal_without_measure_or_dates_can_be_stored():
    assert goal_errors({"title": "Feel closer to friends"}) == {}


def test_the_target_date_must_come_after_the_start():
    errors = goal_errors({"start_date": "2026-03-01", "target_date": "2026-03-01"})
    assert list(errors) == ["target_date"]


def test_missing_and_impossible_numbers_name_their_field():
    assert set(measure_errors({"kind": "count"})) == {"measure.baseline", "measure.target"}
    assert "measure.target" in measure_errors({**GOOD, "target": 30}, PHQ9)
    assert "measure.baseline" in measure_errors({"kind": "count", "baseline": -1, "target": 3})
    assert "measure.target" in measure_errors({"kind": "boolean", "baseline": 0, "target": 2})


def test_booleans_are_not_numbers_for_baseline_and_target():
    assert "measure.target" in measure_errors({"kind": "count", "baseline": 0, "target": True})


def test_instrument_only_for_kind_instrument():
    assert "measure.instrument" in measure_errors({**GOOD, "instrument": None})
    assert "measure.instrument" in measure_errors({"kind": "count", "baseline": 1, "target": 2, "instrument": "phq9"})


def test_an_instrument_the_ranges_do_not_know_is_refused():
    for unknown in ("PHQ9", "zzz", "phq9 "):
        assert "measure.instrument" in measure_errors({**GOOD, "instrument": unknown}, PHQ9)
    assert "measure.instrument" not in measure_errors(GOOD, PHQ9)
    assert "measure.instrument" not in measure_errors({**GOOD, "instrument": "zzz"}), "without ranges nothing is known"


def test_an_explicit_direction_must_agree_with_the_numbers():
    errors = measure_errors({**GOOD, "direction": "increase"})
    assert errors["measure.direction"] == ["The target (9) is below the starting point (16), so the direction can't be increase."]
    assert measure_errors({"kind": "count", "baseline": 5, "target": 5, "direction": "decrease"}) == {}


def test_unknown_vocabulary_is_named():
    errors = measure_errors({"kind": "steps", "baseline": 1, "target": 2, "per": "year", "direction": "up"})
    assert set(errors) == {"measure.kind", "measure.per", "measure.direction"}


def test_milestone_errors_are_indexed():
    errors = milestones_errors([{"title": "ok", "value": 12}, {"title": "", "percent": 150}], GOOD)
    assert set(errors) == {"milestones.1.title", "milestones.1.percent"}
    assert milestones_errors([{"title": "x", "value": 1}], None) == {"milestones.0": ["A milestone needs the goal to have a measure."]}
