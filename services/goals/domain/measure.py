"""The measure of a goal: its vocabulary, its direction and which values it can take.

A measure is a dict as in the public contract: `kind`, `unit`, `baseline`, `target`,
`direction`, `per` (optional) and `instrument` (for kind `instrument`).
"""
from collections.abc import Mapping
from typing import Any

# A measure as the contract has it, and a goal, revision or milestone: JSON objects.
Measure = Mapping[str, Any]
# Instrument code -> (lowest, highest) total score; passed in, since the instrument definitions
# belong to the questionnaires service.
InstrumentRanges = Mapping[str, tuple[float, float]]
# Validation errors, {field: [message]}: the shape of a problem+json `errors` member.
Errors = dict[str, list[str]]

KINDS = ("count", "duration", "scale", "boolean", "instrument")
DIRECTIONS = ("increase", "decrease")
PERIODS = ("day", "week", "month")

# Minutes in one unit of a duration measure, so a duration per day/week/month can be checked
# against the length of that period. Units not listed here are not checked.
MINUTES_PER_UNIT = {
    "min": 1, "mins": 1, "minute": 1, "minutes": 1,
    "h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60,
}
# The longest month (31 days) so a real month is never refused.
MINUTES_PER_PERIOD = {"day": 24 * 60, "week": 7 * 24 * 60, "month": 31 * 24 * 60}


def number(value: Any) -> float | None:
    """Return `value` as a float when it is a real number, else None.

    Booleans count as 0/1 because a yes/no measure arrives as JSON `true`/`false` as often as
    `1`/`0`.
    """
    if isinstance(value, (int, float)):
        return float(value)
    return None


def direction_of(measure: Measure) -> str | None:
    """The measure's direction: the explicit `direction`, else read from baseline and target.

    A target below the baseline means `decrease`, otherwise `increase` ("smoke one less
    cigarette a day", baseline 20 target 19, is a decrease even when nobody said so). Returns
    None when there is neither a valid direction nor both numbers to compare.
    """
    explicit = measure.get("direction")
    if isinstance(explicit, str) and explicit in DIRECTIONS:
        return explicit
    baseline, target = number(measure.get("baseline")), number(measure.get("target"))
    if baseline is None or target is None:
        return None
    return "decrease" if target < baseline else "increase"


def is_met(value: float, threshold: float, direction: str | None) -> bool:
    """Whether `value` has reached `threshold`: at or below it for a decrease, at or above it
    for an increase. Reaching the threshold exactly counts; for "PHQ-9 below 10" set 9."""
    if direction == "decrease":
        return value <= threshold
    return value >= threshold


def value_problem(measure: Measure, value: float, instrument_ranges: InstrumentRanges | None = None) -> str | None:
    """Why `value` is impossible for this measure, in plain words, or None when it is possible.

    - boolean: only 0 or 1;
    - count and duration: not negative;
    - duration in a known unit with a `per`: no more than the period holds (25 hours a day);
    - instrument: within the instrument's score range, when `instrument_ranges` (code ->
      (lowest, highest)) knows the instrument. The ranges are passed in because the
      instrument definitions belong to the questionnaires service.

    The message completes a sentence whose subject is the value, e.g. "The target (30) " +
    "must be within the phq9 score range 0–27".
    """
    kind = measure.get("kind")
    if kind == "boolean" and value not in (0, 1):
        return "must be 0 or 1 for a yes/no measure"
    if kind in ("count", "duration") and value < 0:
        return "can't be negative"
    if kind == "duration":
        per_unit = MINUTES_PER_UNIT.get(str(measure.get("unit", "")).strip().lower())
        period = measure.get("per")
        if per_unit and period in MINUTES_PER_PERIOD and value * per_unit > MINUTES_PER_PERIOD[period]:
            return f"is more time than there is in a {period}"
    if kind == "instrument":
        code = measure.get("instrument")
        known = instrument_ranges.get(code) if instrument_ranges is not None and isinstance(code, str) else None
        if known is not None:
            low, high = known
            if not low <= value <= high:
                return f"must be within the {code} score range {plain(low)}–{plain(high)}"
    return None


def plain(x: float) -> float:
    """Show 27.0 as 27 in messages a client reads."""
    return int(x) if float(x).is_integer() else x
