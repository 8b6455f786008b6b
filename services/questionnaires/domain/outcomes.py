"""A client's NHS Talking Therapies outcome so far, from their depression and anxiety series.

NHS Talking Therapies judges recovery over a course of treatment from the first and last
scores on a depression measure (PHQ-9) and an anxiety measure (GAD-7 or another anxiety
disorder specific measure). Here the first score is the series' baseline (the first response,
or the latest one marked ``baseline``) and the last is the latest response recorded, so the
outcome can be read at any point of treatment, not only at discharge. Whether the course of
treatment is finished (the programme counts clients with at least two treatment sessions) is
for the clinic to judge; ``responses`` says how many scores each series has.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .change import Measure, Recovery, recovery
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
    measures = [Measure(e.instrument, e.baseline.total, e.final.total) for e in (depression, anxiety)]
    return recovery(*measures), None
