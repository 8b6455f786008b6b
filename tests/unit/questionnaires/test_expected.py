"""Expected recovery on hand-made follow-ups. PHQ-9's rule (phq9.json, ICSI): from week 10 after
the baseline, 25% below it; before then, the baseline. Not on track: worse than expected by at
least PHQ-9's reliable change value, 6 (NHS Talking Therapies)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.questionnaires.domain import InstrumentError, parse_instrument
from services.questionnaires.domain.expected import expected_total, track

BASELINE_AT = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def weeks_later(weeks: float) -> datetime:
    return BASELINE_AT + timedelta(weeks=weeks)


def test_phq9_carries_its_rule_with_its_source(builtins):
    rule = builtins["phq9"].change.expected_recovery
    assert (rule.fraction, rule.by_week) == (0.25, 10)
    assert "ICSI" in rule.source


def test_no_change_is_expected_before_the_rules_week_and_a_quarter_after(builtins):
    phq9 = builtins["phq9"]
    assert expected_total(phq9, 20, 9.99) == 20
    assert expected_total(phq9, 20, 10) == 15
    assert expected_total(phq9, 13, 26) == 9.75


def test_a_follow_up_near_the_expected_score_is_on_track(builtins):
    result = track(builtins["phq9"], 16, 20, BASELINE_AT, weeks_later(12))
    assert result.expected_total == 15
    assert result.worse_than_expected_by == 1
    assert result.not_on_track is False


def test_a_follow_up_better_than_expected_is_on_track(builtins):
    result = track(builtins["phq9"], 8, 20, BASELINE_AT, weeks_later(12))
    assert result.worse_than_expected_by == -7
    assert result.not_on_track is False


def test_a_follow_up_reliably_worse_than_expected_is_not_on_track(builtins):
    # 21 is only 1 above the baseline (no reliable deterioration) but 6 above the expected 15.
    result = track(builtins["phq9"], 21, 20, BASELINE_AT, weeks_later(12))
    assert result.to_dict() == {
        "baseline_total": 20,
        "weeks_since_baseline": 12.0,
        "expected_total": 15,
        "worse_than_expected_by": 6,
        "reliable_change_threshold": 6,
        "not_on_track": True,
    }


@pytest.mark.parametrize(("total", "not_on_track"), [(20, False), (21, True)])
def test_the_boundary_is_exactly_the_reliable_change_value(builtins, total, not_on_track):
    # Expected 15: 5 worse is noise, 6 worse ("6 or more") is reliably worse.
    result = track(builtins["phq9"], total, 20, BASELINE_AT, weeks_later(10))
    assert result.worse_than_expected_by == total - 15
    assert result.not_on_track is not_on_track


def test_before_the_rules_week_only_a_reliable_rise_from_baseline_is_off_track(builtins):
    assert track(builtins["phq9"], 25, 20, BASELINE_AT, weeks_later(4)).not_on_track is False
    assert track(builtins["phq9"], 26, 20, BASELINE_AT, weeks_later(4)).not_on_track is True


def test_weeks_are_shown_rounded_down(builtins):
    result = track(builtins["phq9"], 20, 20, BASELINE_AT, weeks_later(9.99))
    assert result.weeks_since_baseline == 9.9
    assert result.expected_total == 20


@pytest.mark.parametrize(
    ("baseline_total", "baseline_at", "completed_at"),
    [
        (None, None, weeks_later(12)),  # the response is itself the baseline
        (20, None, weeks_later(12)),  # a baseline stored before its time was kept
        (20, BASELINE_AT, weeks_later(-1)),  # dated before its baseline
    ],
    ids=["no-baseline", "baseline-time-unknown", "before-baseline"],
)
def test_not_enough_data_is_not_known(builtins, baseline_total, baseline_at, completed_at):
    assert track(builtins["phq9"], 25, baseline_total, baseline_at, completed_at) is None


def test_an_instrument_without_a_rule_is_not_known(builtins):
    assert builtins["gad7"].change.expected_recovery is None
    assert track(builtins["gad7"], 21, 5, BASELINE_AT, weeks_later(12)) is None


def test_higher_is_better_moves_up_towards_the_best_score(definition):
    definition["change"] = {
        "direction": "higher_is_better",
        "reliable_change": {"points": 2, "source": "test"},
        "expected_recovery": {"fraction": 0.5, "by_week": 4, "source": "test"},
    }
    instrument = parse_instrument(definition)
    result = track(instrument, 1, 3, BASELINE_AT, weeks_later(4))
    assert result.expected_total == 5  # halfway from 3 to the best score, 7
    assert (result.worse_than_expected_by, result.not_on_track) == (4, True)


def test_a_rule_without_a_reliable_change_value_is_refused(definition):
    definition["change"] = {
        "direction": "higher_is_worse",
        "expected_recovery": {"fraction": 0.25, "by_week": 10, "source": "test"},
    }
    with pytest.raises(InstrumentError) as raised:
        parse_instrument(definition)
    assert raised.value.errors["change"]["expected_recovery"] == [
        "needs a reliable_change to say when a score is off track"]


@pytest.mark.parametrize(("field", "value"), [("fraction", 0), ("fraction", 1.5), ("by_week", 0), ("by_week", -2)])
def test_a_rule_outside_its_range_is_refused(definition, field, value):
    definition["change"] = {
        "direction": "higher_is_worse",
        "reliable_change": {"points": 2, "source": "test"},
        "expected_recovery": {"fraction": 0.25, "by_week": 10, "source": "test", field: value},
    }
    with pytest.raises(InstrumentError) as raised:
        parse_instrument(definition)
    assert list(raised.value.errors["change"]["expected_recovery"]) == [field]
