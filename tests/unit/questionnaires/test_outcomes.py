"""The NHS Talking Therapies outcome so far, from a client's PHQ-9 and GAD-7 series."""
from __future__ import annotations

import pytest

from services.questionnaires.domain import Reference, SeriesEntry, has_recovery_rules, recovery_so_far, series_ends


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
