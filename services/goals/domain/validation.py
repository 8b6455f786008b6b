"""What a goal must satisfy to be stored, as opposed to what makes it a good goal (SMART).

A vague goal can be stored: its SMART assessment says how to improve it. But progress
arithmetic, milestones and revisions need a measure that hangs together and dates in order,
so those are checked here, on the whole goal (a PATCH merges into the stored goal and the
result is checked). Errors are `{field: [message]}`, the shape of a problem+json `errors`
member, with measure fields as `measure.<field>` and milestones as `milestones.<i>.<field>`.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from .dates import as_date
from .measure import (
    DIRECTIONS, KINDS, PERIODS, Errors, InstrumentRanges, Measure, direction_of, number, plain, value_problem,
)
from .milestones import milestone_errors


def goal_errors(goal: Mapping[str, Any], instrument_ranges: InstrumentRanges | None = None) -> Errors:
    """Errors of a whole goal's measure and dates; empty when it can be stored.

    A goal without a measure is allowed (an umbrella goal whose progress comes from its
    sub-goals); a measure that is given must be complete.
    """
    errors: Errors = {}
    if goal.get("measure"):
        errors.update(measure_errors(goal["measure"], instrument_ranges))
    start, target = as_date(goal.get("start_date")), as_date(goal.get("target_date"))
    if start is not None and target is not None and target <= start:
        errors["target_date"] = [f"The target date must be after the start date ({start})."]
    return errors


def measure_errors(measure: Measure, instrument_ranges: InstrumentRanges | None = None) -> Errors:
    """Errors of a measure: a known kind, numeric baseline and target the measure can take, an
    instrument exactly for kind `instrument` (one `instrument_ranges` knows, when it is given), a
    known period, and an explicit direction that agrees with baseline and target."""
    errors: Errors = {}
    kind = measure.get("kind")
    if kind not in KINDS:
        errors["measure.kind"] = [f"Choose one of: {', '.join(KINDS)}."]
    for key, label in (("baseline", "starting point"), ("target", "target")):
        value = measure.get(key)
        amount = None if isinstance(value, bool) else number(value)
        if amount is None:
            errors[f"measure.{key}"] = [f"Give the {label} as a number."]
            continue
        problem = value_problem(measure, amount, instrument_ranges)
        if problem:
            errors[f"measure.{key}"] = [f"The {label} ({plain(amount)}) {problem}."]
    if kind == "instrument" and not measure.get("instrument"):
        errors["measure.instrument"] = ["Name the questionnaire, for example phq9."]
    elif kind == "instrument" and instrument_ranges is not None and measure["instrument"] not in instrument_ranges:
        # No score would ever feed it: a typo ("PHQ9") or an instrument this clinic lacks.
        errors["measure.instrument"] = [
            f"No questionnaire {measure['instrument']!r} here: use a code GET /v1/instruments lists "
            "(built-ins such as phq9 and gad7, and the clinic's own once defined)."
        ]
    elif kind != "instrument" and measure.get("instrument"):
        errors["measure.instrument"] = ["Only a measure of kind instrument names a questionnaire."]
    if measure.get("per") is not None and measure["per"] not in PERIODS:
        errors["measure.per"] = [f"Choose one of: {', '.join(PERIODS)}."]
    direction = measure.get("direction")
    if direction is not None and direction not in DIRECTIONS:
        errors["measure.direction"] = [f"Choose one of: {', '.join(DIRECTIONS)}."]
    elif direction is not None and "measure.baseline" not in errors and "measure.target" not in errors:
        baseline, target = number(measure["baseline"]), number(measure["target"])
        # Both are numbers (neither has an error); the check says so to the type checker.
        if baseline is not None and target is not None and baseline != target and direction_of({"baseline": baseline, "target": target}) != direction:
            side = "below" if target < baseline else "above"
            errors["measure.direction"] = [
                f"The target ({plain(target)}) is {side} the starting point ({plain(baseline)}), "
                f"so the direction can't be {direction}."]
    return errors


def milestones_errors(milestones: Sequence[Mapping[str, Any]], measure: Measure | None) -> Errors:
    """Errors of milestones given with a goal, as `milestones.<i>.<field>`."""
    errors: Errors = {}
    for index, milestone in enumerate(milestones):
        if not measure:
            errors[f"milestones.{index}"] = ["A milestone needs the goal to have a measure."]
            continue
        for field, messages in milestone_errors(milestone, measure).items():
            errors[f"milestones.{index}.{field}"] = messages
    return errors
