"""Every built-in's change rules at their exact boundaries, from the published numbers (typed in
independently of the JSON files), and a data check that each built-in either has a cited rule or
says in its notes why it has none."""
from __future__ import annotations

import math
import re

import pytest

from services.questionnaires.domain import assess_change, load_builtin_instruments, parse_instrument
from services.questionnaires.domain.change import reliable_change
from tests.support.change_rules import PUBLISHED_CHANGE_RULES

WITH_RELIABLE_CHANGE = sorted(code for code, rules in PUBLISHED_CHANGE_RULES.items() if rules[1] is not None)
WITH_CASENESS = sorted(code for code, rules in PUBLISHED_CHANGE_RULES.items() if rules[2] is not None)


def _worse(direction: str) -> int:
    """The sign of a change for the worse: up on a symptom scale, down on a well-being scale."""
    return 1 if direction == "higher_is_worse" else -1


def _middle(instrument) -> int:
    low, high = instrument.scoring.range
    return (low + high) // 2


@pytest.mark.parametrize("code", WITH_RELIABLE_CHANGE)
def test_a_change_of_exactly_the_threshold_is_reliable(builtins, code):
    direction, points = PUBLISHED_CHANGE_RULES[code][:2]
    instrument, worse = builtins[code], _worse(direction)
    baseline = _middle(instrument)
    assert reliable_change(instrument, baseline, baseline - worse * points) == "improved"
    assert reliable_change(instrument, baseline, baseline + worse * points) == "deteriorated"


@pytest.mark.parametrize("code", WITH_RELIABLE_CHANGE)
def test_the_nearest_whole_totals_either_side_of_the_threshold(builtins, code):
    # Totals are whole numbers: the smallest reliable change is the threshold rounded up (WHO-5:
    # 2.5 -> 3), and one point less is no reliable change, in both directions.
    direction, points = PUBLISHED_CHANGE_RULES[code][:2]
    instrument, worse = builtins[code], _worse(direction)
    baseline, reliable = _middle(instrument), math.ceil(points)
    cases = {
        -reliable: "improved",
        -(reliable - 1): "none",
        reliable - 1: "none",
        reliable: "deteriorated",
    }
    for steps, expected in cases.items():
        change = assess_change(instrument, baseline + worse * steps, baseline_total=baseline)
        assert change.reliable_change == expected, f"a change of {steps} toward worse"
        assert change.reliable_change_threshold == points


@pytest.mark.parametrize("code", WITH_CASENESS)
def test_caseness_at_the_cut_off(builtins, code):
    relation, cut_off = PUBLISHED_CHANGE_RULES[code][2]
    instrument = builtins[code]
    # ">= x": x is a case and x - 1 is not; "< x": x - 1 is a case and x is not.
    case, not_case = (cut_off, cut_off - 1) if relation == ">=" else (cut_off - 1, cut_off)
    recovered = assess_change(instrument, not_case, baseline_total=case)
    assert (recovered.baseline_case, recovered.case) == (True, False)
    assert recovered.clinically_significant is True
    assert recovered.clinically_significant_deterioration is False
    became = assess_change(instrument, case, baseline_total=not_case)
    assert (became.clinically_significant, became.clinically_significant_deterioration) == (False, True)


# --- every built-in: a cited rule, or the reason there is none -----------------------------------

# A rule is accounted for by a sentence of the notes that says there is no such rule ("No
# reliable-change threshold was found", "no caseness cut-off is adopted").
EXPLAINED_IN_NOTES = {
    "reliable_change": re.compile(r"\bno\b[^.]*\breliable[- ]change\b", re.IGNORECASE),
    "caseness": re.compile(r"\bno\b[^.]*\b(caseness|cut-offs?)\b", re.IGNORECASE),
}


def unaccounted_rules(instrument) -> list[str]:
    """The change rules an instrument neither gives with a source nor explains the absence of."""
    rules, notes = instrument.change, instrument.notes or ""
    missing = []
    for name, explanation in EXPLAINED_IN_NOTES.items():
        rule = getattr(rules, name) if rules is not None else None
        if rule is not None:
            if not rule.source.strip():
                missing.append(name)
        elif not explanation.search(notes):
            missing.append(name)
    return missing


@pytest.mark.parametrize("code", sorted(load_builtin_instruments()))
def test_every_builtin_cites_its_change_rules_or_says_why_it_has_none(builtins, code):
    assert unaccounted_rules(builtins[code]) == []


def test_an_instrument_that_omits_both_is_caught(definition):
    # The check on a new definition with no change rules and no notes, then with half a reason.
    assert unaccounted_rules(parse_instrument(definition)) == ["reliable_change", "caseness"]
    definition["notes"] = "No reliable-change threshold was found."
    assert unaccounted_rules(parse_instrument(definition)) == ["caseness"]
    definition["change"] = {"direction": "higher_is_worse", "caseness": {"at_or_above": 4, "source": " "}}
    assert unaccounted_rules(parse_instrument(definition)) == ["caseness"]  # a blank source cites nothing
    definition["change"]["caseness"]["source"] = "Test 2024"
    assert unaccounted_rules(parse_instrument(definition)) == []
