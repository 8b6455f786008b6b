"""Expected recovery: is a follow-up score where the instrument's rule expects it by now?

The rule is the instrument's ``change.expected_recovery`` (PHQ-9's is in ``phq9.json`` with its
source): by ``by_week`` weeks after the baseline the score is expected to have moved
``fraction`` of the way from the baseline towards the best possible score; before then no change
is expected, so the expected score is the baseline itself. It turns a published decision point
into a line to compare with; it is a transparent rule, not a validated prediction of any one
client's course.

A follow-up is *not on track* when it is worse than expected by at least the instrument's
reliable change value: the same reading of "reliable" as ``change.reliable_change`` (NHS Talking
Therapies: "a change of 6 or more points" on PHQ-9), so a difference of exactly that value
counts. Whatever is not known (no baseline to start from, no rule for the instrument, a
follow-up dated before its baseline) is ``None``, never a guessed "on track".
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from .model import HIGHER_IS_WORSE, Instrument

SECONDS_PER_WEEK = 7 * 24 * 3600


@dataclass(frozen=True)
class Track:
    """A follow-up against its expected score. ``worse_than_expected_by`` is positive when the
    score is on the worse side of the expected one (in the instrument's direction)."""

    baseline_total: float
    weeks_since_baseline: float
    expected_total: float
    worse_than_expected_by: float
    reliable_change_threshold: float
    not_on_track: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def weeks_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / SECONDS_PER_WEEK


def expected_total(instrument: Instrument, baseline_total: float, weeks: float) -> float | None:
    """The score the rule expects ``weeks`` after a baseline of ``baseline_total``; None when the
    instrument has no expected-recovery rule."""
    rules = instrument.change
    if rules is None or rules.expected_recovery is None:
        return None
    rule = rules.expected_recovery
    if weeks < rule.by_week:
        return baseline_total
    low, high = instrument.scoring.range
    best = low if rules.direction == HIGHER_IS_WORSE else high
    return _rounded(baseline_total + rule.fraction * (best - baseline_total))


def track(
    instrument: Instrument,
    total: float,
    baseline_total: float | None,
    baseline_at: datetime | None,
    completed_at: datetime,
) -> Track | None:
    """How ``total``, completed at ``completed_at``, compares with what the rule expects from the
    baseline (``baseline_total`` completed at ``baseline_at``); None when that is not known."""
    rules = instrument.change
    if baseline_total is None or baseline_at is None or completed_at < baseline_at:
        return None
    if rules is None or rules.reliable_change is None:
        return None
    weeks = weeks_between(baseline_at, completed_at)
    expected = expected_total(instrument, baseline_total, weeks)
    if expected is None:
        return None
    worse_by = _rounded(total - expected if rules.direction == HIGHER_IS_WORSE else expected - total)
    threshold = rules.reliable_change.threshold
    return Track(
        baseline_total=baseline_total,
        # Shown to a tenth of a week, rounded down: never a week the rule has not reached.
        weeks_since_baseline=math.floor(weeks * 10) / 10,
        expected_total=expected,
        worse_than_expected_by=worse_by,
        reliable_change_threshold=threshold,
        not_on_track=worse_by >= threshold,
    )


def _rounded(value: float) -> float:
    # Fractions of whole-number totals (20 x 0.75) are kept exact enough to compare and show.
    return value if isinstance(value, int) else round(value, 6)
