"""Change rules on hand-made trajectories, and NHS Talking Therapies recovery for a PHQ-9 +
GAD-7 pair. PHQ-9: reliable change 6, case >= 10, remission < 5; GAD-7: 4, >= 8, < 5 (NHS
Talking Therapies Manual); WHO-5: 2.5 raw points, case below 13 (higher is better)."""
from __future__ import annotations

import math

import pytest

from services.questionnaires.domain import Measure, assess_change, parse_instrument, recovery


def test_first_response_has_no_change(builtins):
    change = assess_change(builtins["phq9"], 14)
    assert change.baseline_total is None and change.delta is None
    assert change.reliable_change is None
    assert change.clinically_significant is None and change.response is None and change.remission is None
    assert change.case is True  # caseness needs no baseline


def test_reliable_improvement_at_exactly_the_threshold(builtins):
    change = assess_change(builtins["phq9"], 12, baseline_total=18)
    assert (change.delta, change.reliable_change) == (-6, "improved")


def test_one_point_short_of_reliable(builtins):
    assert assess_change(builtins["phq9"], 13, baseline_total=18).reliable_change == "none"


def test_reliable_deterioration_into_caseness(builtins):
    change = assess_change(builtins["phq9"], 14, baseline_total=8)
    assert (change.delta, change.reliable_change) == (6, "deteriorated")
    assert change.clinically_significant is False
    assert change.clinically_significant_deterioration is True


def test_crossing_caseness_without_reliable_change(builtins):
    change = assess_change(builtins["phq9"], 9, baseline_total=12)
    assert change.reliable_change == "none"
    assert change.clinically_significant is True  # a case at 12, not a case at 9
    assert (change.baseline_case, change.case) == (True, False)


def test_staying_a_case_is_not_clinically_significant(builtins):
    change = assess_change(builtins["phq9"], 10, baseline_total=20)
    assert change.reliable_change == "improved"
    assert change.clinically_significant is False


def test_response_is_a_fall_of_half_or_more(builtins):
    assert assess_change(builtins["phq9"], 8, baseline_total=16).response is True  # -50%
    assert assess_change(builtins["phq9"], 9, baseline_total=16).response is False  # -43.75%


def test_no_response_from_a_baseline_of_zero(builtins):
    assert assess_change(builtins["phq9"], 0, baseline_total=0).response is False


def test_remission_is_below_five(builtins):
    assert assess_change(builtins["phq9"], 4, baseline_total=16).remission is True
    assert assess_change(builtins["phq9"], 5, baseline_total=16).remission is False


def test_gad7_thresholds(builtins):
    gad7 = builtins["gad7"]
    assert assess_change(gad7, 8, baseline_total=12).reliable_change == "improved"  # -4
    assert assess_change(gad7, 9, baseline_total=12).reliable_change == "none"  # -3
    assert assess_change(gad7, 7, baseline_total=9).clinically_significant is True  # 9 case, 7 not


def test_change_from_the_previous_score(builtins):
    change = assess_change(builtins["phq9"], 17, baseline_total=15, previous_total=10)
    assert (change.delta, change.reliable_change) == (2, "none")
    assert (change.previous_delta, change.reliable_change_from_previous) == (7, "deteriorated")


def test_higher_is_better(builtins):
    who5 = builtins["who5"]
    assert assess_change(who5, 11, baseline_total=8).reliable_change == "improved"  # +3 >= 2.5
    assert assess_change(who5, 10, baseline_total=8).reliable_change == "none"  # +2
    assert assess_change(who5, 12, baseline_total=15).reliable_change == "deteriorated"  # -3
    change = assess_change(who5, 13, baseline_total=12)
    assert (change.baseline_case, change.case, change.clinically_significant) == (True, False, True)


def test_no_published_rules_means_none_not_false(builtins):
    change = assess_change(builtins["k10"], 10, baseline_total=50)
    assert change.delta == -40
    assert change.reliable_change is None and change.reliable_change_threshold is None
    assert change.case is None and change.clinically_significant is None
    assert change.response is None and change.remission is None


def test_a_screener_has_caseness_but_no_reliable_change(builtins):
    # Kroenke et al. 2003: a PHQ-2 of 3 or more is a positive screen; no reliable change is published.
    change = assess_change(builtins["phq2"], 2, baseline_total=3)
    assert (change.baseline_case, change.case, change.clinically_significant) == (True, False, True)
    assert change.reliable_change is None and change.response is None


def test_an_alliance_measure_has_a_direction_and_no_thresholds(builtins):
    change = assess_change(builtins["waisr"], 30, baseline_total=50)
    assert change.delta == -20
    assert change.reliable_change is None and change.case is None and change.clinically_significant is None


def test_jacobson_truax_threshold_from_reliability_and_sd():
    inst = parse_instrument(
        {
            "code": "rci",
            "name": "RCI",
            "version": "1",
            "items": [{"id": str(i), "text": "x", "min": 0, "max": 4} for i in range(1, 6)],
            "scoring": {"method": "sum", "range": [0, 20], "source": "t"},
            "change": {"direction": "higher_is_worse", "reliable_change": {"reliability": 0.9, "sd": 5, "source": "t"}},
            "sources": [{"id": "t", "citation": "t"}],
            "licence": {"text": "t", "redistribute_items": True},
        }
    )
    # 1.96 x 5 x sqrt(2 x (1 - 0.9)) = 1.96 x 5 x 0.4472136 = 4.3827
    change = assess_change(inst, 11, baseline_total=15)
    assert math.isclose(change.reliable_change_threshold, 4.3827, abs_tol=1e-4)
    assert change.reliable_change == "none"  # a fall of 4
    assert assess_change(inst, 10, baseline_total=15).reliable_change == "improved"  # a fall of 5


def test_to_dict_has_the_contract_fields(builtins):
    data = assess_change(builtins["phq9"], 8, baseline_total=16, previous_total=12).to_dict()
    assert {"baseline_total", "previous_total", "delta", "reliable_change", "clinically_significant", "response", "remission"} <= set(data)


# --- NHS Talking Therapies recovery over PHQ-9 + GAD-7 ------------------------------------------


def outcome(builtins, phq9, gad7):
    return recovery(Measure(builtins["phq9"], *phq9), Measure(builtins["gad7"], *gad7))


def test_reliably_recovered(builtins):
    result = outcome(builtins, (15, 6), (12, 5))  # PHQ-9 -9, GAD-7 -7; neither a case at the end
    assert (result.case_at_baseline, result.recovered, result.reliable_improvement, result.reliably_recovered) == (True, True, True, True)


def test_recovered_but_not_reliably(builtins):
    result = outcome(builtins, (11, 8), (9, 7))  # under both cut-offs, but -3 and -2
    assert (result.recovered, result.reliable_improvement, result.reliably_recovered) == (True, False, False)


def test_still_a_case_on_one_measure_is_not_recovered(builtins):
    result = outcome(builtins, (15, 5), (12, 9))  # GAD-7 9 is still a case
    assert (result.recovered, result.reliable_improvement, result.reliably_recovered) == (False, True, False)


def test_improvement_on_one_and_deterioration_on_the_other(builtins):
    result = outcome(builtins, (15, 8), (4, 9))  # PHQ-9 -7, GAD-7 +5
    assert (result.reliable_improvement, result.reliable_deterioration) == (False, False)
    assert result.recovered is False


def test_reliable_deterioration(builtins):
    result = outcome(builtins, (10, 17), (8, 8))
    assert (result.reliable_improvement, result.reliable_deterioration, result.recovered) == (False, True, False)


def test_not_a_case_at_baseline_cannot_recover(builtins):
    result = outcome(builtins, (6, 3), (5, 2))
    assert result.case_at_baseline is False
    assert result.recovered is None and result.reliably_recovered is None


def test_a_case_on_anxiety_alone_counts(builtins):
    result = outcome(builtins, (7, 3), (10, 4))  # PHQ-9 not a case, GAD-7 a case at baseline
    assert (result.case_at_baseline, result.recovered, result.reliably_recovered) == (True, True, True)


def test_recovery_names_the_manual(builtins):
    assert "NHS Talking Therapies" in outcome(builtins, (15, 6), (12, 5)).to_dict()["source"]


def test_recovery_needs_caseness_and_reliable_change_rules(builtins):
    with pytest.raises(ValueError):
        recovery(Measure(builtins["phq9"], 12, 5), Measure(builtins["gad2"], 4, 1))
