"""Progress of a goal from its entries: current value, percent, trend, on track, target met.

An entry is a dict with `value` (a number; 0/1 for a yes/no measure), `recorded_at` (an aware
UTC datetime) and `source` (`client`, `therapist` or `score`). Entries may come in any order;
they are ordered by `recorded_at` here. Percentages are not rounded: round them for display.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from .dates import as_date
from .measure import Measure, direction_of, is_met, number

Entry = Mapping[str, Any]

SOURCES = ("client", "therapist", "score")

# Trend compares the latest entry with the average of the entries just before it, within the
# last TREND_WINDOW entries: one reading against a short recent history, so a single bad day
# does not flip the trend, yet a real change shows after one entry.
TREND_WINDOW = 3
# A change no bigger than this share of the distance from baseline to target counts as flat.
FLAT_SHARE = 0.05

# A goal is on track when its percent is no more than this many percentage points behind the
# share of time elapsed. Product heuristic: progress is rarely a straight line.
ON_TRACK_TOLERANCE = 10.0


def summarize(
    measure: Measure, entries: Sequence[Entry], *, start_date: Any, target_date: Any, today: date
) -> dict[str, Any]:
    """The `progress` object of a goal.

    Returns {"current", "percent", "trend", "on_track", "target_met"}; all None (target_met
    False) when there are no entries yet. `start_date` and `target_date` are the goal's dates
    (`date` or `YYYY-MM-DD`), `today` the caller's date.
    """
    current = current_value(entries)
    if current is None:
        return {"current": None, "percent": None, "trend": None, "on_track": None,
                "target_met": False}
    return {
        "current": current,
        "percent": percent(measure, current),
        "trend": trend(measure, entries),
        "on_track": on_track(measure, current, start_date, target_date, today),
        "target_met": target_met(measure, current),
    }


def _ordered(entries: Iterable[Entry]) -> list[Entry]:
    # sorted() is stable: of two entries recorded at the same instant, the later one in the
    # list (the one stored later) wins.
    return sorted(entries, key=lambda entry: entry["recorded_at"])


def current_value(entries: Sequence[Entry]) -> float | None:
    """The value of the latest entry by `recorded_at` (as it was stored), or None without entries."""
    if not entries:
        return None
    value: float = _ordered(entries)[-1]["value"]
    return value


def _baseline_and_target(measure: Measure) -> tuple[float, float]:
    """Progress is computed only for a measure that has both numbers (an umbrella goal without
    a measure has its sub-goals' roll-up instead)."""
    baseline, target = number(measure.get("baseline")), number(measure.get("target"))
    if baseline is None or target is None:
        raise ValueError("progress needs a measure with a numeric baseline and target")
    return baseline, target


def _entry_value(entry: Entry) -> float:
    value = number(entry["value"])
    if value is None:
        raise ValueError(f"an entry's value must be a number, not {entry['value']!r}")
    return value


def target_met(measure: Measure, value: float) -> bool:
    """Whether `value` meets the target: value <= target for a decrease, >= for an increase.

    Reaching the target exactly counts, so "PHQ-9 below 10" is a decrease with target 9.
    """
    _, target = _baseline_and_target(measure)
    return is_met(value, target, direction_of(measure))


def percent(measure: Measure, value: float) -> float:
    """How far `value` is from baseline to target, 0 to 100, clamped.

    (value - baseline) / (target - baseline) * 100 works for both directions because the sign
    of the denominator follows the direction: a decrease from 16 to 10 at 13 is
    (13 - 16) / (10 - 16) = 50%. Values past the target give 100, values behind the baseline 0.
    When target equals baseline there is no distance to cover: 100 if met, else 0.
    """
    baseline, target = _baseline_and_target(measure)
    if target == baseline:
        return 100.0 if target_met(measure, value) else 0.0
    share = (value - baseline) / (target - baseline)
    return min(100.0, max(0.0, share * 100.0))


def trend(measure: Measure, entries: Sequence[Entry]) -> str | None:
    """`improving`, `worsening` or `flat` from the recent entries, or None with fewer than two.

    Rule: within the last TREND_WINDOW entries, compare the latest value with the average of
    the ones before it. Moving towards the target is improving (down for a decrease, up for an
    increase); a move no bigger than FLAT_SHARE of |target - baseline| is flat.
    """
    if len(entries) < 2:
        return None
    recent = [_entry_value(entry) for entry in _ordered(entries)[-TREND_WINDOW:]]
    earlier = recent[:-1]
    change = recent[-1] - sum(earlier) / len(earlier)
    if direction_of(measure) == "decrease":
        change = -change
    baseline, target = _baseline_and_target(measure)
    distance = abs(target - baseline)
    if abs(change) <= FLAT_SHARE * distance:
        return "flat"
    return "improving" if change > 0 else "worsening"


def expected_percent(start_date: Any, target_date: Any, today: date) -> float:
    """The share of the time from start to target date that has passed at `today`, 0 to 100."""
    start, target = as_date(start_date), as_date(target_date)
    if start is None or target is None:
        raise ValueError("the expected percent needs a start date and a target date")
    elapsed = (today - start).days / (target - start).days
    return min(100.0, max(0.0, elapsed * 100.0))


def on_track(
    measure: Measure, value: float | None, start_date: Any, target_date: Any, today: date,
    tolerance: float = ON_TRACK_TOLERANCE,
) -> bool | None:
    """Whether progress keeps pace with time, or None when it can't be judged.

    - target met: on track;
    - target date passed and target not met: not on track;
    - otherwise: percent >= expected_percent - tolerance (percentage points). Before the start
      date nothing is expected yet.
    None without a value, without both dates, or when the target date is not after the start.
    """
    start, target = as_date(start_date), as_date(target_date)
    if value is None or start is None or target is None or target <= start:
        return None
    if target_met(measure, value):
        return True
    if today > target:
        return False
    return percent(measure, value) >= expected_percent(start, target, today) - tolerance


def rollup_percent(
    children_percents: Sequence[float | None], weights: Sequence[float] | None = None
) -> float | None:
    """A parent goal's percent from its sub-goals': the weighted average, 0 to 100.

    A sub-goal with no entries yet (percent None) counts as 0: nothing of it is done. Weights
    default to 1 each and must be positive, one per child. Returns None without children.
    """
    if not children_percents:
        return None
    if weights is None:
        weights = [1] * len(children_percents)
    if len(weights) != len(children_percents):
        raise ValueError("give one weight per sub-goal")
    if any(weight <= 0 for weight in weights):
        raise ValueError("weights must be positive")
    total = sum(weight * (child or 0.0) for child, weight in zip(children_percents, weights, strict=True))
    return total / sum(weights)


def subgoal_percent(subgoals: Iterable[tuple[str, float | None]]) -> float | None:
    """A parent goal's roll-up from its sub-goals, each a (status, percent) pair, or None.

    Abandoned sub-goals are left out: given up, they should not hold the parent back. An
    achieved sub-goal counts as 100 whatever its last entry said, because a therapist who
    marks it achieved has judged it done. The rest count with their percent (None as 0).
    None when no sub-goal counts.
    """
    counted = [100.0 if status == "achieved" else share
               for status, share in subgoals if status != "abandoned"]
    return rollup_percent(counted)
