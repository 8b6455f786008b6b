"""A client's NHS Talking Therapies outcome so far, from their depression and anxiety series.

NHS Talking Therapies judges recovery over a course of treatment from the first and last
scores on a depression measure (PHQ-9) and an anxiety measure (GAD-7 or another anxiety
disorder specific measure). Here the first score is the series' baseline (the first response,
or the latest one marked ``baseline``) and the last is the latest response recorded, so the
outcome can be read at any point of treatment, not only at discharge. Whether the course of
treatment is finished (the programme counts clients with at least two treatment sessions) is
for the clinic to judge; ``responses`` says how many scores each series has.

A clinic's outcomes on one instrument (``tally``) put each client's series in a category by the
same ends: reliable improvement (with reliable recovery when it also left caseness), no reliable
change, deterioration, or not enough data (no score after the baseline).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .change import DETERIORATED, NO_RELIABLE_CHANGE as NO_CHANGE, Measure, Recovery, is_case, recovery, reliable_change
from .history import Reference
from .model import Instrument


@dataclass(frozen=True)
class SeriesEntry:
    """One stored response of a series: its number, itself, and the baseline it was compared
    with (None when it is itself the baseline)."""

    seq: int
    response: Reference
    baseline: Reference | None


@dataclass(frozen=True)
class SeriesEnds:
    """The baseline and the latest response of a client's series on one instrument."""

    instrument: Instrument
    baseline: Reference
    final: Reference
    responses: int

    @property
    def has_change(self) -> bool:
        return self.final.response_id != self.baseline.response_id


def series_ends(instrument: Instrument, entries: Iterable[SeriesEntry]) -> SeriesEnds | None:
    """The ends of a series, or None when it has no responses."""
    ordered = sorted(entries, key=lambda entry: entry.seq)
    if not ordered:
        return None
    latest = ordered[-1]
    return SeriesEnds(instrument, latest.baseline or latest.response, latest.response, len(ordered))


def has_recovery_rules(instrument: Instrument) -> bool:
    rules = instrument.change
    return rules is not None and rules.caseness is not None and rules.reliable_change is not None


def recovery_so_far(depression: SeriesEnds | None, anxiety: SeriesEnds | None) -> tuple[Recovery | None, str | None]:
    """The outcome, or None and the reason it cannot be judged yet."""
    for name, ends in (("depression", depression), ("anxiety", anxiety)):
        if ends is None:
            return None, f"no {name} measure has been recorded yet"
        if not ends.has_change:
            return None, f"the {name} measure ({ends.instrument.code}) has only its baseline so far"
    # Both are there (the loop returned otherwise); the filter says so to the type checker.
    measures = [Measure(e.instrument, e.baseline.total, e.final.total) for e in (depression, anxiety) if e is not None]
    return recovery(*measures), None


# A clinic's outcomes on one instrument: each client's series, baseline to latest, in one of
# these categories (NHS Talking Therapies terms, see change.py). Reliable recovery is a part of
# reliable improvement, as the programme reports them.
RELIABLE_IMPROVEMENT = "reliable_improvement"
RELIABLE_RECOVERY = "reliable_recovery"
DETERIORATION = "deterioration"
NO_RELIABLE_CHANGE = "no_reliable_change"
NOT_ENOUGH_DATA = "not_enough_data"
CATEGORIES = (RELIABLE_IMPROVEMENT, RELIABLE_RECOVERY, NO_RELIABLE_CHANGE, DETERIORATION, NOT_ENOUGH_DATA)
# The clients each category is a share of: those with a change to judge (a score after their
# baseline); for reliable recovery only those of them who were a case at baseline (the programme
# counts recovery only for them); for not enough data, every client.
JUDGED = "judged"
CASES_AT_BASELINE = "case_at_baseline"
CLIENTS = "clients"
DENOMINATORS = {
    RELIABLE_IMPROVEMENT: JUDGED,
    RELIABLE_RECOVERY: CASES_AT_BASELINE,
    NO_RELIABLE_CHANGE: JUDGED,
    DETERIORATION: JUDGED,
    NOT_ENOUGH_DATA: CLIENTS,
}


def can_tally(instrument: Instrument) -> bool:
    """Outcomes need a reliable change rule; caseness (for recovery) is optional."""
    rules = instrument.change
    return rules is not None and rules.reliable_change is not None


def series_outcome(ends: SeriesEnds) -> tuple[str, ...]:
    """The categories one series falls in, from its baseline to its latest score: not enough data
    without a score after the baseline, else its reliable change (improved, none, deteriorated),
    and reliable recovery for an improvement from a case at baseline to not a case now."""
    if not ends.has_change:
        return (NOT_ENOUGH_DATA,)
    instrument, baseline, final = ends.instrument, ends.baseline.total, ends.final.total
    change = reliable_change(instrument, baseline, final)
    if change is None:
        raise ValueError(f"{instrument.code} has no reliable change rule")
    if change == DETERIORATED:
        return (DETERIORATION,)
    if change == NO_CHANGE:
        return (NO_RELIABLE_CHANGE,)
    if is_case(instrument, baseline) and is_case(instrument, final) is False:
        return (RELIABLE_IMPROVEMENT, RELIABLE_RECOVERY)
    return (RELIABLE_IMPROVEMENT,)


@dataclass(frozen=True)
class Tally:
    """How many series fell in each category, and the denominators of their shares."""

    counts: dict[str, int]
    denominators: dict[str, int | None]  # case_at_baseline is None for an instrument without caseness

    def share(self, category: str) -> float | None:
        """The category's percentage of its denominator, to one decimal; None when that is 0."""
        whole = self.denominators[DENOMINATORS[category]]
        return round(100 * self.counts[category] / whole, 1) if whole else None


def tally(instrument: Instrument, series: Iterable[SeriesEnds]) -> Tally:
    """Classify every series (each a client's on ``instrument``) and count."""
    counts = dict.fromkeys(CATEGORIES, 0)
    clients = judged = cases_at_baseline = 0
    for ends in series:
        clients += 1
        for category in series_outcome(ends):
            counts[category] += 1
        if ends.has_change:
            judged += 1
            cases_at_baseline += bool(is_case(instrument, ends.baseline.total))
    rules = instrument.change
    has_caseness = rules is not None and rules.caseness is not None
    denominators: dict[str, int | None] = {
        CLIENTS: clients, JUDGED: judged, CASES_AT_BASELINE: cases_at_baseline if has_caseness else None,
    }
    return Tally(counts, denominators)
