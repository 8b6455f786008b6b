"""The built-in instruments score as published: every band edge on both sides, flags,
subscales, indicators and each instrument's own quirks.

The band tables below are typed in from the publications, independently of the JSON files,
so a wrong number in a file fails here."""
from __future__ import annotations

import pytest

from services.questionnaires.domain import AnswerError, assess_change, score

PUBLISHED_BANDS = {
    # Kroenke, Spitzer & Williams 2001, J Gen Intern Med 16:606-613.
    "phq9": [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 19, "moderately_severe"), (20, 27, "severe")],
    # Spitzer et al. 2006, Arch Intern Med 166:1092-1097.
    "gad7": [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")],
    # Kroenke et al. 2003 (PHQ-2) and 2007 (GAD-2): positive at 3 or more.
    "phq2": [(0, 2, "negative"), (3, 6, "positive")],
    "gad2": [(0, 2, "negative"), (3, 6, "positive")],
    # Kroenke et al. 2002, Psychosom Med 64:258-266: cut-points 5, 10, 15.
    "phq15": [(0, 4, "minimal"), (5, 9, "low"), (10, 14, "medium"), (15, 30, "high")],
    # WHO-5 scoring instructions; Topp et al. 2015: raw below 13 is poor well-being.
    "who5": [(0, 12, "poor_wellbeing"), (13, 25, "above_cutoff")],
    # Andrews & Slade 2001, Aust N Z J Public Health 25:494-497.
    "k10": [(10, 15, "low"), (16, 21, "moderate"), (22, 29, "high"), (30, 50, "very_high")],
    # Babor et al. 2001, WHO AUDIT manual: zones I-IV.
    "audit": [(0, 7, "zone_i_low_risk"), (8, 15, "zone_ii_hazardous"), (16, 19, "zone_iii_harmful"), (20, 40, "zone_iv_possible_dependence")],
    # Bradley et al. 2007: positive at 4+ for men, 3+ for women.
    "auditc": [(0, 2, "negative"), (3, 3, "positive_for_women"), (4, 12, "positive")],
    # Mundt et al. 2002, Br J Psychiatry 180:461-464: <10, 10-20, >20.
    "wsas": [(0, 9, "subclinical"), (10, 20, "significant_impairment"), (21, 40, "moderately_severe_or_worse")],
}

EDGES = [
    (code, total, label)
    for code, bands in PUBLISHED_BANDS.items()
    for low, high, label in bands
    for total in sorted({low, high})
]


@pytest.mark.parametrize(("code", "total", "label"), EDGES)
def test_every_band_edge(builtins, answers_for, code, total, label):
    instrument = builtins[code]
    result = score(instrument, answers_for(instrument, total))
    assert (result.total, result.severity) == (total, label)


def test_the_band_tables_cover_every_instrument_with_bands(builtins):
    assert {code for code, instrument in builtins.items() if instrument.bands} == set(PUBLISHED_BANDS)


# --- PHQ-9 -------------------------------------------------------------------------------------


def test_phq9_item_9_above_zero_raises_self_harm_risk(builtins):
    result = score(builtins["phq9"], [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert [flag.to_dict() for flag in result.flags] == [{"code": "self_harm_risk", "item": "9", "value": 1}]
    assert result.total == 1 and result.severity == "minimal"


def test_phq9_item_9_at_zero_raises_no_flag(builtins):
    assert score(builtins["phq9"], [3, 3, 3, 3, 3, 3, 3, 3, 0]).flags == ()


def test_phq9_answers_by_item_id(builtins):
    answers = {str(i): 2 for i in range(1, 10)}
    result = score(builtins["phq9"], answers)
    assert result.total == 18 and result.severity == "moderately_severe"
    assert result.flags[0].value == 2


def test_phq9_refuses_a_missing_answer(builtins):
    # No prorating: item 9 must never be stood in for by arithmetic.
    with pytest.raises(AnswerError) as caught:
        score(builtins["phq9"], [1, 1, 1, 1, 1, 1, 1, 1, None])
    assert caught.value.errors == {"answers.9": ["an answer is required"]}


def test_phq2_has_no_flag_and_is_the_first_two_phq9_items(builtins):
    assert [item.text for item in builtins["phq2"].items] == [item.text for item in builtins["phq9"].items[:2]]
    assert builtins["phq2"].critical_items == ()


# --- WHO-5 -------------------------------------------------------------------------------------


def test_who5_percentage_is_raw_times_four(builtins):
    # WHO-5 scoring instructions: "To obtain a percentage score ranging from 0 to 100, the raw
    # score is multiplied by 4": raw 5+4+3+2+1 = 15 is 60%.
    result = score(builtins["who5"], [5, 4, 3, 2, 1])
    assert result.total == 15
    assert result.extras == {"percentage": 60}


def test_who5_extremes(builtins):
    assert score(builtins["who5"], [0] * 5).extras["percentage"] == 0
    assert score(builtins["who5"], [5] * 5).extras["percentage"] == 100


# --- PCL-5 -------------------------------------------------------------------------------------

# Items 1-5 are cluster B, 6-7 C, 8-14 D, 15-20 E (DSM-5, Weathers et al. 2013).
DSM5_MINIMUM = [2, 0, 0, 0, 0] + [2, 0] + [2, 2, 0, 0, 0, 0, 0] + [2, 2, 0, 0, 0, 0]


def test_pcl5_cluster_subscales(builtins):
    answers = [1, 2, 3, 4, 0] + [4, 3] + [0, 1, 1, 1, 1, 1, 1] + [2, 2, 2, 2, 2, 0]
    result = score(builtins["pcl5"], answers)
    assert result.subscales == {"B": 10, "C": 7, "D": 6, "E": 10}
    assert result.total == 33
    assert result.severity is None  # no published severity bands


def test_pcl5_dsm5_rule_met_with_the_fewest_symptoms(builtins):
    result = score(builtins["pcl5"], DSM5_MINIMUM)
    assert result.total == 12
    assert result.extras == {"provisional_ptsd_dsm5": True, "provisional_ptsd_cutoff": False}


@pytest.mark.parametrize("position", [0, 5, 8, 14])
def test_pcl5_dsm5_rule_fails_when_a_cluster_is_one_symptom_short(builtins, position):
    answers = list(DSM5_MINIMUM)
    answers[position] = 1  # "A little bit" is not endorsed; 2 "Moderately" is.
    assert score(builtins["pcl5"], answers).extras["provisional_ptsd_dsm5"] is False


def test_pcl5_cutoff_indicator_at_33(builtins, answers_for):
    instrument = builtins["pcl5"]
    assert score(instrument, answers_for(instrument, 32)).extras["provisional_ptsd_cutoff"] is False
    assert score(instrument, answers_for(instrument, 33)).extras["provisional_ptsd_cutoff"] is True


def test_pcl5_high_total_without_the_dsm5_pattern(builtins):
    # Every B item at 4 but nothing else: total 20, the DSM-5 rule needs C, D and E too.
    result = score(builtins["pcl5"], [4] * 5 + [0] * 15)
    assert result.subscales == {"B": 20, "C": 0, "D": 0, "E": 0}
    assert result.extras["provisional_ptsd_dsm5"] is False


# --- AUDIT -------------------------------------------------------------------------------------


def test_audit_items_9_and_10_score_0_2_4(builtins):
    base = [0] * 8
    assert score(builtins["audit"], base + [0, 0]).total == 0
    assert score(builtins["audit"], base + [2, 0]).total == 2
    assert score(builtins["audit"], base + [4, 4]).total == 8


@pytest.mark.parametrize("value", [1, 3])
def test_audit_items_9_and_10_refuse_odd_answers(builtins, value):
    with pytest.raises(AnswerError) as caught:
        score(builtins["audit"], [0] * 8 + [value, 0])
    assert caught.value.errors == {"answers.9": ["must be one of 0, 2, 4"]}


def test_audit_maximum(builtins):
    result = score(builtins["audit"], [4] * 10)
    assert (result.total, result.severity) == (40, "zone_iv_possible_dependence")


# --- WSAS: the NHS missing / not-applicable rule -------------------------------------------------


def test_wsas_not_applicable_work_item_is_prorated(builtins):
    # NHS Data Dictionary (IAPT): a "not applicable" work item is substituted with the average
    # of the other items: 3+4+3+3 = 13, average 3.25, total 16.25, recorded as 16.
    result = score(builtins["wsas"], [None, 3, 4, 3, 3])
    assert (result.total, result.prorated, result.missing_items) == (16, True, ("1",))
    assert result.severity == "significant_impairment"


def test_wsas_prorated_half_rounds_up(builtins):
    # 3+3+3+1 = 10, x5/4 = 12.5, rounded half up to 13.
    assert score(builtins["wsas"], {"1": 3, "2": 3, "3": 3, "4": 1}).total == 13


def test_wsas_prorating_can_cross_a_band_edge(builtins):
    # 2+2+2+2 = 8 over four items is 10 over five: "significant", not "subclinical".
    result = score(builtins["wsas"], [2, 2, None, 2, 2])
    assert (result.total, result.severity) == (10, "significant_impairment")


def test_wsas_two_missing_answers_are_refused(builtins):
    with pytest.raises(AnswerError) as caught:
        score(builtins["wsas"], [None, 3, None, 3, 3])
    assert set(caught.value.errors) == {"answers.1", "answers.3"}
    assert "at most 1" in caught.value.errors["answers.1"][0]


def test_wsas_complete_answers_are_not_prorated(builtins):
    result = score(builtins["wsas"], [8, 8, 8, 8, 8])
    assert (result.total, result.prorated) == (40, False)


# --- PHQ-15: the optional menstrual item ---------------------------------------------------------


def test_phq15_menstrual_item_may_be_left_out_and_adds_nothing(builtins):
    answers = {str(i): 2 for i in range(1, 16) if i != 4}
    result = score(builtins["phq15"], answers)
    assert (result.total, result.prorated, result.missing_items) == (28, False, ("4",))


def test_phq15_other_items_are_required(builtins):
    answers = {str(i): 1 for i in range(1, 15)}
    with pytest.raises(AnswerError) as caught:
        score(builtins["phq15"], answers)
    assert caught.value.errors == {"answers.15": ["an answer is required"]}


# --- K10 ---------------------------------------------------------------------------------------


def test_k10_scores_one_to_five(builtins):
    assert score(builtins["k10"], [1] * 10).total == 10
    with pytest.raises(AnswerError) as caught:
        score(builtins["k10"], [0] + [1] * 9)
    assert caught.value.errors == {"answers.1": ["must be between 1 and 5"]}


# --- Change rules against the published tables -------------------------------------------------
# Typed in from the publications (see test_instrument_definitions.PUBLISHED_CHANGE_RULES for the
# sources): each cut-off is tested on both sides, through scoring, so a total the answers can
# really give lands on the right side; each reliable change at the threshold and just short of it.

CASENESS_EDGES = [
    # (instrument, last total that is not a case, first total that is a case)
    ("phq9", 9, 10), ("gad7", 7, 8), ("phq2", 2, 3), ("gad2", 2, 3), ("pcl5", 32, 33), ("audit", 7, 8),
    ("who5", 13, 12),  # higher is better: below 13 is a case
]


@pytest.mark.parametrize(("code", "not_case", "case"), CASENESS_EDGES)
def test_caseness_at_the_published_cut_off(builtins, answers_for, code, not_case, case):
    instrument = builtins[code]
    for total, expected in ((not_case, False), (case, True)):
        scored = score(instrument, answers_for(instrument, total))
        assert assess_change(instrument, scored.total).case is expected, (code, total)


RELIABLE_CHANGE_EDGES = [
    # (instrument, baseline, a total reliably better, a total just short of it)
    ("phq9", 20, 14, 15), ("gad7", 15, 11, 12), ("pcl5", 50, 35, 36), ("who5", 10, 13, 12),
]


@pytest.mark.parametrize(("code", "baseline", "improved", "short"), RELIABLE_CHANGE_EDGES)
def test_reliable_change_at_the_published_threshold(builtins, code, baseline, improved, short):
    instrument = builtins[code]
    assert assess_change(instrument, improved, baseline_total=baseline).reliable_change == "improved"
    assert assess_change(instrument, short, baseline_total=baseline).reliable_change == "none"
    # The same distance the other way is reliable deterioration.
    worse = baseline - (improved - baseline)
    assert assess_change(instrument, worse, baseline_total=baseline).reliable_change == "deteriorated"


# --- WAI-SR ------------------------------------------------------------------------------------


def test_waisr_subscales_follow_the_published_key(builtins):
    # Hatcher & Gillaspy 2006: Task items 1, 2, 10, 12; Bond 3, 5, 7, 9; Goal 4, 6, 8, 11; each 1-5.
    answers = {str(i): 1 for i in range(1, 13)}
    answers.update({"1": 5, "2": 5, "10": 5, "12": 5, "3": 3, "5": 3, "7": 3, "9": 3})
    result = score(builtins["waisr"], answers)
    assert result.subscales == {"task": 20, "bond": 12, "goal": 4}
    assert (result.total, result.severity) == (36, None)


def test_waisr_range_is_twelve_to_sixty(builtins):
    assert score(builtins["waisr"], [1] * 12).total == 12
    assert score(builtins["waisr"], [5] * 12).total == 60
    with pytest.raises(AnswerError) as caught:
        score(builtins["waisr"], [0] + [1] * 11)
    assert caught.value.errors == {"answers.1": ["must be between 1 and 5"]}
