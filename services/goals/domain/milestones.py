"""Milestones: steps on the way from a goal's baseline to its target.

A milestone is a dict with `title`, either a `value` threshold on the goal's measure or a
`percent` of the way from baseline to target, an optional `due_date`, and `reached_at` once it
has been reached (set by the caller when it stores the result of `reached_by`).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from .dates import as_date
from .measure import Errors, Measure, direction_of, is_met, number, plain


def threshold(milestone: Mapping[str, Any], measure: Measure) -> float:
    """The measure value at which `milestone` is reached.

    A `percent` milestone becomes baseline + percent% of (target - baseline): 50% of the way
    from 16 down to 10 is 13.
    """
    value = number(milestone.get("value"))
    if value is not None:
        return value
    baseline, target = number(measure.get("baseline")), number(measure.get("target"))
    share = number(milestone.get("percent"))
    if baseline is None or target is None or share is None:
        raise ValueError("a milestone needs a value, or a percent of a measure with a numeric baseline and target")
    return baseline + share / 100 * (target - baseline)


def milestone_errors(milestone: Mapping[str, Any], measure: Measure) -> Errors:
    """Validation errors of a new milestone for a goal with `measure`, as {field: [message]}
    (empty when valid), ready for a problem+json `errors` member.

    A milestone needs a title and exactly one of `value` or `percent`. A percent is above 0 and
    at most 100; a value lies between the baseline (excluded: already there) and the target
    (included). `due_date` is optional.
    """
    errors: Errors = {}
    if not (isinstance(milestone.get("title"), str) and milestone["title"].strip()):
        errors["title"] = ["Give the milestone a title."]
    value, share = milestone.get("value"), milestone.get("percent")
    if (value is None) == (share is None):
        errors["value"] = ["Give a value or a percent: exactly one of them."]
    elif share is not None:
        if number(share) is None or not 0 < share <= 100:
            errors["percent"] = ["The percent must be above 0 and at most 100."]
    else:
        baseline, target = number(measure.get("baseline")), number(measure.get("target"))
        if baseline is None or target is None:
            # The measure's own errors say what is wrong with it; no value can be placed on it.
            errors["value"] = ["A value needs the goal's measure to have a numeric starting point and target."]
            return errors
        low, high = sorted((baseline, target))
        amount = number(value)
        if amount is None or not low <= amount <= high or amount == baseline:
            errors["value"] = [f"The value must lie between the starting point "
                               f"({plain(baseline)}, excluded) and the target ({plain(target)})."]
    try:
        as_date(milestone.get("due_date"))
    except ValueError:
        errors["due_date"] = ["The due date must be a date (YYYY-MM-DD)."]
    return errors


def reached_by(
    milestones: Iterable[Mapping[str, Any]], previous_value: float | None, new_value: float, measure: Measure
) -> list[Mapping[str, Any]]:
    """The milestones a new entry passes, nearest the baseline first.

    A milestone is passed when `new_value` meets its threshold and `previous_value` (the
    current value before this entry; None for the first entry) did not, in the measure's
    direction. Milestones with `reached_at` set are skipped, so each is reached once even when
    the value falls back and crosses the threshold again.
    """
    direction = direction_of(measure)

    def newly_passed(milestone: Mapping[str, Any]) -> bool:
        line = threshold(milestone, measure)
        before = previous_value is not None and is_met(previous_value, line, direction)
        return is_met(new_value, line, direction) and not before

    passed = [m for m in milestones if m.get("reached_at") is None and newly_passed(m)]
    return sorted(passed, key=lambda m: threshold(m, measure), reverse=direction == "decrease")
