"""The NHS Talking Therapies outcome so far, from a client's PHQ-9 and GAD-7 series."""
from __future__ import annotations

import pytest

from services.questionnaires.domain import (
    Reference,
    SeriesEntry,
    has_recovery_rules,
    parse_instrument,
    recovery_so_far,
    series_ends,
)
from services.questionnaires.domain.outcomes import CATEGORIES, can_tally, series_outcome, tally


def series(instrument, totals, baseline_at=0):
    """Entries for ``totals`` recorded in order, the one at ``baseline_at`` being the baseline."""
    entries = []
    for n, total in enumerate(totals, start=1):
        baseline = None if n - 1 <= baseline_at else Reference(f"{instrument.code}-{baseline_at + 1}", totals[baseline_at])
        entries.append(SeriesEntry(n, Reference(f"{instrument.code}-{n}", total), baseline))
    return series_ends(instrument, reversed(entries))


def test_series_ends_are_the_baseline_and_the_latest(builtins):
    ends = series(builtins["phq9"], [18, 14, 9])
    assert (ends.baseline.total, ends.final.total, ends.responses) == (18, 9, 3)
    assert ends.has_change
    assert series_ends(builtins["phq9"], []) is None


def test_a_marked_baseline_is_where_the_outcome_starts(builtins):
    ends = series(builtins["gad7"], [20, 15, 12, 6], baseline_at=2)
    assert (ends.baseline.total, ends.final.total) == (12, 6)


def test_recovered_and_reliably_recovered(builtins):
    outcome, reason = recovery_so_far(series(builtins["phq9"], [16, 6]), series(builtins["gad7"], [13, 5]))
    assert reason is None
    assert outcome.recovered and outcome.reliably_recovered and outcome.reliable_improvement


def test_recovered_without_reliable_improvement(builtins):
    # PHQ-9 11 -> 8 and GAD-7 9 -> 7: below both cut-offs now, but neither change is reliable.
    outcome, _ = recovery_so_far(series(builtins["phq9"], [11, 8]), series(builtins["gad7"], [9, 7]))
    assert outcome.recovered is True
    assert outcome.reliable_improvement is False
    assert outcome.reliably_recovered is False


def test_not_a_case_at_baseline_has_no_recovery(builtins):
    outcome, _ = recovery_so_far(series(builtins["phq9"], [6, 2]), series(builtins["gad7"], [5, 1]))
    assert outcome.case_at_baseline is False
    assert outcome.recovered is None and outcome.reliably_recovered is None


@pytest.mark.parametrize(
    ("phq9", "gad7", "reason"),
    [
        (None, [10, 5], "no depression measure"),
        ([15, 5], None, "no anxiety measure"),
        ([15], [10, 5], "depression measure (phq9) has only its baseline"),
        ([15, 5], [12], "anxiety measure (gad7) has only its baseline"),
    ],
)
def test_no_outcome_until_both_measures_have_changed(builtins, phq9, gad7, reason):
    depression = series(builtins["phq9"], phq9) if phq9 else None
    anxiety = series(builtins["gad7"], gad7) if gad7 else None
    outcome, why = recovery_so_far(depression, anxiety)
    assert outcome is None and reason in why


def test_only_measures_with_caseness_and_reliable_change_rules_qualify(builtins):
    assert has_recovery_rules(builtins["phq9"]) and has_recovery_rules(builtins["gad7"])
    assert not has_recovery_rules(builtins["phq15"]) and not has_recovery_rules(builtins["gad2"])


# A clinic's outcomes: each series' category, and the tally with its denominators. PHQ-9: reliable
# change 6 points, a case at 10 or more; WHO-5 (higher is better): reliable change 2.5, a case
# below 13; PCL-5: reliable change 15, a case at 33 or more (the definitions' published rules).
@pytest.mark.parametrize(
    ("code", "totals", "categories"),
    [
        ("phq9", [18, 8], ("reliable_improvement", "reliable_recovery")),  # case to not a case, -10
        ("phq9", [20, 12], ("reliable_improvement",)),  # -8 but still a case
        ("phq9", [6, 0], ("reliable_improvement",)),  # not a case at baseline: no recovery to count
        ("phq9", [15, 9], ("reliable_improvement", "reliable_recovery")),  # exactly the threshold counts
        ("phq9", [15, 10], ("no_reliable_change",)),  # -5
        ("phq9", [8, 14], ("deterioration",)),
        ("phq9", [12], ("not_enough_data",)),
        ("who5", [8, 14], ("reliable_improvement", "reliable_recovery")),  # higher is better
        ("who5", [14, 11], ("deterioration",)),
        ("pcl5", [50, 30], ("reliable_improvement", "reliable_recovery")),
        ("pcl5", [50, 36], ("no_reliable_change",)),
    ],
)
def test_each_series_falls_in_its_categories(builtins, code, totals, categories):
    assert series_outcome(series(builtins[code], totals)) == categories


def test_a_series_whose_latest_score_is_its_new_baseline_has_not_enough_data(builtins):
    ends = series(builtins["phq9"], [20, 8], baseline_at=1)
    assert series_outcome(ends) == ("not_enough_data",)


def test_the_tally_counts_each_category_over_its_denominator(builtins):
    phq9 = builtins["phq9"]
    clients = [[18, 8], [20, 12], [6, 0], [15, 11], [8, 16], [12], [9]]
    result = tally(phq9, [series(phq9, totals) for totals in clients])
    assert result.denominators == {"clients": 7, "judged": 5, "case_at_baseline": 3}
    assert result.counts == {"reliable_improvement": 3, "reliable_recovery": 1, "no_reliable_change": 1,
                             "deterioration": 1, "not_enough_data": 2}
    assert [result.share(category) for category in CATEGORIES] == [60.0, 33.3, 20.0, 20.0, 28.6]


def test_an_empty_tally_has_no_percentages(builtins):
    empty = tally(builtins["phq9"], [])
    assert all(empty.share(category) is None for category in CATEGORIES)
    assert empty.denominators == {"clients": 0, "judged": 0, "case_at_baseline": 0}


def test_without_a_caseness_rule_recovery_has_no_denominator(definition):
    definition["change"] = {"direction": "higher_is_worse", "reliable_change": {"points": 2, "source": "test"}}
    instrument = parse_instrument(definition)
    result = tally(instrument, [series(instrument, [6, 1]), series(instrument, [2, 5])])
    assert result.counts["reliable_improvement"] == 1 and result.counts["deterioration"] == 1
    assert result.counts["reliable_recovery"] == 0
    assert result.denominators["case_at_baseline"] is None and result.share("reliable_recovery") is None


def test_only_an_instrument_with_a_reliable_change_rule_can_be_tallied(builtins):
    # K10 publishes no reliable change rule, so no outcome can be judged on it.
    assert not can_tally(builtins["k10"]) and can_tally(builtins["phq9"])
    with pytest.raises(ValueError):
        series_outcome(series(builtins["k10"], [30, 20]))
