"""Change in a client's scores: reliable change, caseness, response, remission, recovery.

Every rule reads the instrument's own ``change`` block, so a rule an instrument does not
publish comes back as ``None`` ("not known"), never as a guessed ``False``.

NHS Talking Therapies terms, as in the NHS Talking Therapies for Anxiety and Depression
Manual (National Collaborating Centre for Mental Health for NHS England; formerly the IAPT
Manual) and NHS England's published outcome measures: a *case* scores at or above the
clinical cut-off (PHQ-9 >= 10, GAD-7 >= 8); *reliable* change is a change at least as large
as the measure's reliable change index (PHQ-9 6 points, GAD-7 4); *recovery* is moving from
caseness to non-caseness; *reliable recovery* is recovery together with reliable improvement.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .model import HIGHER_IS_WORSE, ChangeRules, Instrument

IMPROVED = "improved"
DETERIORATED = "deteriorated"
NO_RELIABLE_CHANGE = "none"

RECOVERY_SOURCE = (
    "NHS Talking Therapies for Anxiety and Depression Manual (National Collaborating Centre for "
    "Mental Health for NHS England; formerly the IAPT Manual): caseness, reliable "
    "improvement/deterioration, recovery and reliable recovery over the paired depression (PHQ-9) "
    "and anxiety (GAD-7 or other ADSM) measures"
)


@dataclass(frozen=True)
class Change:
    """How a new total compares with the client's baseline (first) and previous totals.

    ``delta`` is ``total - baseline_total`` (so negative is a fall). ``reliable_change`` is
    ``improved`` / ``deteriorated`` / ``none`` in the instrument's own direction.
    ``clinically_significant`` is the improving crossing of the caseness cut-off (a case at
    baseline, not a case now); ``clinically_significant_deterioration`` is the opposite
    crossing (not a case at baseline, a case now). ``response`` is moving at least the
    instrument's response fraction of the way from baseline to the best score; ``remission``
    is being in the remission range now. ``previous_delta`` and ``reliable_change_from_previous``
    compare with the previous total, for session-to-session deterioration alerts.

    Every field that needs a baseline, or a rule the instrument does not publish, is ``None``.
    """

    total: int | float
    baseline_total: int | float | None
    previous_total: int | float | None
    delta: int | float | None
    reliable_change: str | None
    reliable_change_threshold: float | None
    clinically_significant: bool | None
    clinically_significant_deterioration: bool | None
    response: bool | None
    remission: bool | None
    case: bool | None
    baseline_case: bool | None
    previous_delta: int | float | None
    reliable_change_from_previous: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_case(instrument: Instrument, total: float) -> bool | None:
    """Whether ``total`` is in the instrument's clinical (case) range; None without a rule."""
    rules = instrument.change
    if rules is None or rules.caseness is None:
        return None
    return rules.caseness.contains(total)


def reliable_change(instrument: Instrument, before: float, after: float) -> str | None:
    """``improved`` / ``deteriorated`` / ``none`` from ``before`` to ``after``; None when the
    instrument publishes no reliable change threshold.

    A change exactly equal to the threshold counts: NHS Talking Therapies reads "a change of
    6 or more" on PHQ-9 as reliable."""
    rules = instrument.change
    if rules is None or rules.reliable_change is None:
        return None
    improvement = _improvement(rules, before, after)
    threshold = rules.reliable_change.threshold
    if improvement >= threshold:
        return IMPROVED
    if -improvement >= threshold:
        return DETERIORATED
    return NO_RELIABLE_CHANGE


def assess_change(
    instrument: Instrument,
    total: float,
    baseline_total: float | None = None,
    previous_total: float | None = None,
) -> Change:
    """Compare ``total`` with the client's ``baseline_total`` (first score on this instrument)
    and ``previous_total`` (the score before this one). Both are None for the first response,
    which is itself the baseline."""
    rules = instrument.change
    case = is_case(instrument, total)
    baseline_case = is_case(instrument, baseline_total) if baseline_total is not None else None
    crossed = baseline_total is not None and case is not None
    return Change(
        total=total,
        baseline_total=baseline_total,
        previous_total=previous_total,
        delta=_difference(total, baseline_total),
        reliable_change=reliable_change(instrument, baseline_total, total) if baseline_total is not None else None,
        reliable_change_threshold=(
            rules.reliable_change.threshold if rules and rules.reliable_change else None
        ),
        clinically_significant=(baseline_case and not case) if crossed else None,
        clinically_significant_deterioration=(case and not baseline_case) if crossed else None,
        response=_response(instrument, baseline_total, total) if baseline_total is not None else None,
        remission=(
            rules.remission.contains(total) if baseline_total is not None and rules and rules.remission else None
        ),
        case=case,
        baseline_case=baseline_case,
        previous_delta=_difference(total, previous_total),
        reliable_change_from_previous=(
            reliable_change(instrument, previous_total, total) if previous_total is not None else None
        ),
    )


def _difference(total: float, other: float | None) -> float | None:
    if other is None:
        return None
    difference = total - other
    # Totals of a decimal-scored instrument are rounded; so is their difference.
    return difference if isinstance(difference, int) else round(difference, 6)


def _improvement(rules: ChangeRules, before: float, after: float) -> float:
    """Positive when the score moved in the better direction."""
    if rules.direction == HIGHER_IS_WORSE:
        return before - after
    return after - before


def _response(instrument: Instrument, baseline: float, total: float) -> bool | None:
    rules = instrument.change
    if rules is None or rules.response is None:
        return None
    low, high = instrument.scoring.range
    best = low if rules.direction == HIGHER_IS_WORSE else high
    room = abs(baseline - best)
    # A client who starts at the best possible score has nothing to respond with.
    if room == 0:
        return False
    return _improvement(rules, baseline, total) >= rules.response.fraction * room


@dataclass(frozen=True)
class Measure:
    """One measure of a treatment episode: the instrument, its first and its last total."""

    instrument: Instrument
    baseline_total: float
    final_total: float


@dataclass(frozen=True)
class Recovery:
    """The NHS Talking Therapies outcome of a finished course of treatment.

    ``case_at_baseline``: a case on at least one measure at the start. ``reliable_improvement``:
    reliable improvement on at least one measure and reliable deterioration on none.
    ``reliable_deterioration``: reliable deterioration on at least one measure and reliable
    improvement on none. ``recovered``: a case at baseline and a case on no measure at the end.
    ``reliably_recovered``: recovered and reliably improved. ``recovered`` and
    ``reliably_recovered`` are None when the client was not a case at baseline, because NHS
    Talking Therapies counts recovery only for those who started as cases.
    """

    case_at_baseline: bool
    recovered: bool | None
    reliable_improvement: bool
    reliable_deterioration: bool
    reliably_recovered: bool | None
    source: str = RECOVERY_SOURCE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def recovery(depression: Measure, anxiety: Measure) -> Recovery:
    """NHS Talking Therapies recovery and reliable recovery over a PHQ-9 + GAD-7 (or other
    anxiety measure) pair.

    The programme also requires a finished course of treatment (at least two treatment
    sessions); that is the caller's to check: this function only reads scores.
    Raises ValueError for an instrument without a caseness or reliable change rule."""
    measures = (depression, anxiety)
    for measure in measures:
        rules = measure.instrument.change
        if rules is None or rules.caseness is None or rules.reliable_change is None:
            raise ValueError(f"{measure.instrument.code} has no caseness and reliable change rules")
    changes = [reliable_change(m.instrument, m.baseline_total, m.final_total) for m in measures]
    improved = IMPROVED in changes
    deteriorated = DETERIORATED in changes
    case_at_baseline = any(is_case(m.instrument, m.baseline_total) for m in measures)
    case_at_end = any(is_case(m.instrument, m.final_total) for m in measures)
    recovered = (not case_at_end) if case_at_baseline else None
    reliable_improvement = improved and not deteriorated
    return Recovery(
        case_at_baseline=case_at_baseline,
        recovered=recovered,
        reliable_improvement=reliable_improvement,
        reliable_deterioration=deteriorated and not improved,
        reliably_recovered=(recovered and reliable_improvement) if case_at_baseline else None,
    )
