from datetime import date, datetime, timezone

import pytest

from services.goals.domain.progress import (
    current_value, expected_percent, on_track, percent, rollup_percent, subgoal_percent, summarize, target_met,
    trend,
)

DOWN = {"kind": "instrument", "instrument": "phq9", "baseline": 16, "target": 10, "direction": "decrease"}
UP = {"kind": "count", "unit": "walks", "baseline": 0, "target": 10, "per": "week", "direction": "increase"}
YES_NO = {"kind": "boolean", "baseline": 0, "target": 1, "direction": "increase"}


def entries(*values):
    """Entries one day apart, in order."""
    return [{"value": v, "recorded_at": datetime(2025, 1, day + 1, tzinfo=timezone.utc), "source": "client"}
            for day, v in enumerate(values)]


@pytest.mark.parametrize("measure, value, expected", [
    (DOWN, 13, 50),     # (16 - 13) / (16 - 10) = 3 / 6
    (DOWN, 10, 100),
    (DOWN, 8, 100),     # past the target: clamped
    (DOWN, 17, 0),      # behind the baseline: clamped
    (DOWN, 16, 0),
    (UP, 2.5, 25),
    (UP, 12, 100),
    (UP, -1, 0),
    (YES_NO, 0, 0),
    (YES_NO, 1, 100),
    (YES_NO, True, 100),
])
def test_percent_of_the_way_from_baseline_to_target(measure, value, expected):
    assert percent(measure, value) == pytest.approx(expected)


def test_percent_when_the_target_is_to_stay_where_you_are():
    keep = {"kind": "count", "baseline": 5, "target": 5, "direction": "decrease"}
    assert percent(keep, 5) == 100
    assert percent(keep, 6) == 0


def test_target_met_counts_reaching_it_exactly():
    below_ten = {**DOWN, "target": 9}  # "PHQ-9 below 10"
    assert target_met(below_ten, 9)
    assert not target_met(below_ten, 10)
    assert target_met(UP, 10)
    assert not target_met(UP, 9.9)


def test_current_is_the_latest_by_recorded_at_not_by_list_order():
    shuffled = list(reversed(entries(16, 14, 12)))
    assert current_value(shuffled) == 12
    assert current_value([]) is None


def test_current_breaks_ties_with_the_later_entry_in_the_list():
    same_time = entries(14, 12)
    same_time[1]["recorded_at"] = same_time[0]["recorded_at"]
    assert current_value(same_time) == 12


@pytest.mark.parametrize("measure, values, expected", [
    (DOWN, (16, 15, 13), "improving"),    # 13 vs mean(16, 15) = 15.5: down 2.5, towards 10
    (DOWN, (12, 13, 15), "worsening"),    # 15 vs 12.5: up 2.5, away from 10
    (DOWN, (13, 13, 13.2), "flat"),       # up 0.2 <= 5% of 6 = 0.3
    (DOWN, (13, 13, 12.6), "improving"),  # down 0.4 > 0.3
    (UP, (2, 4, 6), "improving"),         # 6 vs 3
    (UP, (6, 4, 2), "worsening"),
    (UP, (10, 0, 2, 4), "improving"),     # only the last three count: 4 vs mean(0, 2) = 1
    (UP, (4, 3), "worsening"),
])
def test_trend_compares_the_latest_with_the_two_before(measure, values, expected):
    assert trend(measure, entries(*values)) == expected


def test_trend_needs_two_entries():
    assert trend(UP, entries(3)) is None
    assert trend(UP, []) is None


def test_trend_orders_entries_by_time():
    assert trend(UP, list(reversed(entries(2, 4, 6)))) == "improving"


START, TARGET = date(2025, 1, 1), date(2025, 3, 2)  # 60 days: 31 in January, 28 in February, 1
HALFWAY = date(2025, 1, 31)                          # 30 days in: 50% of the time


def test_expected_percent_is_the_share_of_time_elapsed():
    assert expected_percent(START, TARGET, HALFWAY) == pytest.approx(50)
    assert expected_percent(START, TARGET, date(2024, 12, 1)) == 0
    assert expected_percent(START, TARGET, date(2025, 5, 1)) == 100


@pytest.mark.parametrize("measure, value, expected", [
    # Halfway through the time, 50% expected, tolerance 10 points: at least 40% is on track.
    (UP, 4, True),      # 40%
    (UP, 3, False),     # 30%
    (DOWN, 13.5, True),   # (16 - 13.5) / 6 = 41.7%
    (DOWN, 13.8, False),  # 2.2 / 6 = 36.7%
])
def test_on_track_allows_ten_points_behind_the_time_elapsed(measure, value, expected):
    assert on_track(measure, value, START, TARGET, HALFWAY) is expected


def test_on_track_tolerance_can_be_set():
    assert on_track(UP, 4, START, TARGET, HALFWAY, tolerance=5) is False


def test_on_track_after_the_target_date_means_the_target_was_met():
    after = date(2025, 3, 3)
    assert on_track(UP, 10, START, TARGET, after) is True
    assert on_track(UP, 9.5, START, TARGET, after) is False


def test_a_met_target_is_on_track_however_early():
    assert on_track(DOWN, 10, START, TARGET, date(2025, 1, 2)) is True


def test_nothing_is_expected_before_the_start():
    assert on_track(UP, 0, START, TARGET, date(2024, 12, 20)) is True


def test_on_track_cannot_be_judged_without_value_or_dates():
    assert on_track(UP, None, START, TARGET, HALFWAY) is None
    assert on_track(UP, 4, None, TARGET, HALFWAY) is None
    assert on_track(UP, 4, START, None, HALFWAY) is None
    assert on_track(UP, 4, TARGET, START, HALFWAY) is None


def test_on_track_accepts_iso_dates():
    assert on_track(UP, 4, "2025-01-01", "2025-03-02", HALFWAY) is True


def test_summary_of_a_decreasing_goal():
    summary = summarize(DOWN, entries(16, 15, 13), start_date=START, target_date=TARGET, today=HALFWAY)
    assert summary == {"current": 13, "percent": pytest.approx(50), "trend": "improving",
                       "on_track": True, "target_met": False}


def test_summary_without_entries():
    assert summarize(UP, [], start_date=START, target_date=TARGET, today=HALFWAY) == {
        "current": None, "percent": None, "trend": None, "on_track": None, "target_met": False}


def test_rollup_is_the_weighted_average_with_missing_children_at_zero():
    assert rollup_percent([100, 50, None]) == pytest.approx(50)  # (100 + 50 + 0) / 3
    assert rollup_percent([100, 0, 0], weights=[2, 1, 1]) == pytest.approx(50)  # 200 / 4
    assert rollup_percent([]) is None


@pytest.mark.parametrize("weights", [[1], [1, 0], [1, -2]])
def test_rollup_refuses_bad_weights(weights):
    with pytest.raises(ValueError):
        rollup_percent([10, 20], weights=weights)


def test_subgoals_roll_up_leaving_out_abandoned_and_counting_achieved_as_done():
    assert subgoal_percent([("active", 50.0), ("on_hold", None)]) == 25
    assert subgoal_percent([("active", 50.0), ("abandoned", 0.0), ("achieved", 80.0)]) == 75
    assert subgoal_percent([("abandoned", 10.0)]) is None
    assert subgoal_percent([]) is None
