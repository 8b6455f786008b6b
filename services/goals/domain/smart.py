"""SMART assessment of a draft goal: specific, measurable, achievable, realistic, time-bound.

Every rule is deterministic and explains itself in words a client can read. A criterion is `ok`
only when the draft gives enough to check it and the check passes: "can't tell yet" is not ok,
and its reason says what is missing. The thresholds below are product heuristics, not clinical
findings; services/goals/README.md lists each rule and why it is there.
"""

import math
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from .dates import as_date
from .measure import DIRECTIONS, KINDS, PERIODS, InstrumentRanges, Measure, direction_of, number, plain, value_problem

# A criterion's verdict: {"ok": bool, "reason": str}.
Verdict = dict[str, Any]

# Words that name a feeling, a state or a judgement ("be happier", "reduce anxiety", "feel
# better"). They say where a client wants to get to but not what they will do, so they do not
# count towards being specific. Plain data: extend it as reviews find more.
VAGUE_WORDS = frozenset({
    "happy", "happier", "happiness", "better", "best", "good", "great", "nicer", "well",
    "wellbeing", "well-being", "ok", "okay", "fine", "calm", "calmer", "relaxed", "content",
    "anxious", "anxiety", "stress", "stressed", "worry", "worried", "depressed", "depression",
    "sad", "sadness", "mood", "confident", "confidence", "self-esteem", "positive", "negative",
    "healthy", "healthier", "balanced", "fulfilled", "improve", "improved", "improvement",
    "feel", "feeling", "feelings", "life", "things", "stuff", "somehow",
})

# Grammatical words that carry no content of their own.
FILLER_WORDS = frozenset({
    "a", "an", "the", "to", "be", "am", "is", "are", "was", "been", "being", "become", "get",
    "getting", "i", "me", "my", "myself", "we", "us", "our", "you", "your", "it", "its", "and",
    "or", "but", "of", "for", "in", "on", "at", "with", "by", "about", "so", "just", "really",
    "very", "much", "want", "would", "like", "try", "some", "lot", "lots", "all", "each",
    "every", "bit",
})

# A specific goal names an action and something that pins it down (an object, an amount, a
# time or a place): "meditate ... 10 minutes ... day", "stop smoking". One concrete word
# ("meditate") is not enough.
MIN_CONCRETE_WORDS = 2

# Words that reveal the direction of a goal whose measure does not say it yet.
DECREASE_WORDS = frozenset({"less", "fewer", "reduce", "cut", "stop", "quit", "lower", "decrease"})
INCREASE_WORDS = frozenset({"more", "increase", "raise", "grow", "build"})

# Achievable pace for count, duration and scale measures: the change from baseline to target,
# as a share of the larger of the two (so a start from 0 still has a yardstick), should not
# exceed a quarter per week. Going from nothing to the target, or from the baseline to
# nothing, therefore needs at least four weeks. Product heuristic: generous on purpose, since
# habits take weeks to settle (Lally et al. 2010 saw 18 to 254 days, median 66).
MAX_WEEKLY_SHARE = 0.25

# Achievable pace for instrument measures: at most a tenth of the instrument's score range per
# week (PHQ-9, range 0–27: 2.7 points a week; GAD-7, 0–21: 2.1). Product heuristic.
MAX_WEEKLY_INSTRUMENT_SHARE = 0.10

# A goal running longer than this with no sub-goals or milestones gets the suggestion to break
# it up, so progress shows within weeks rather than months. About three months.
LONG_GOAL_DAYS = 90

_WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")


def assess(
    draft: Mapping[str, Any], today: date, *, subgoal_count: int = 0, milestone_count: int = 0,
    instrument_ranges: InstrumentRanges | None = None,
) -> dict[str, Any]:
    """Assess a draft goal against SMART and say what would make it better.

    `draft` is a goal as in the contract, possibly incomplete (`title`, `description`,
    `measure`, `start_date`, `target_date`, ...). Dates are `date`s or `YYYY-MM-DD` strings; a
    missing `start_date` means the goal starts `today`. `subgoal_count` and `milestone_count`
    say how the goal is already broken down. `instrument_ranges` maps an instrument code to its
    (lowest, highest) score, e.g. {"phq9": (0, 27), "gad7": (0, 21)}; it comes from the
    instrument definitions, not from here.

    Returns {"specific", "measurable", "achievable", "realistic", "time_bound"}, each
    {"ok": bool, "reason": str}, plus "suggestions": [str] in the order of the criteria.
    """
    measure = draft.get("measure") or {}
    target_date = as_date(draft.get("target_date"))
    start = as_date(draft.get("start_date")) or today
    suggestions: list[str] = []

    result: dict[str, Any] = {"specific": _specific(draft, suggestions)}
    result["measurable"] = _measurable(measure, suggestions)
    result["achievable"] = _achievable(
        measure, result["measurable"]["ok"], start, target_date, instrument_ranges, suggestions)
    result["realistic"] = _realistic(measure, start, target_date, today, instrument_ranges, suggestions)
    result["time_bound"] = _time_bound(target_date, suggestions)

    _suggest_direction(draft, measure, suggestions)
    if (target_date is not None and (target_date - start).days > LONG_GOAL_DAYS
            and subgoal_count == 0 and milestone_count == 0):
        suggestions.append(
            "This goal runs for more than three months. Break it into smaller goals or "
            "milestones so progress shows sooner.")
    result["suggestions"] = suggestions
    return result


def infer_direction(draft: Mapping[str, Any]) -> str | None:
    """The direction a draft goal means: the measure's own (explicit, or read from baseline and
    target), else the wording of the title and description ("one less cigarette" -> decrease).

    Returns "increase", "decrease" or None when there is nothing to go on, or the wording
    points both ways. The API may use it to fill in a missing `direction` before storing.
    """
    direction = direction_of(draft.get("measure") or {})
    if direction is not None:
        return direction
    words = set(_words(draft))
    decreasing, increasing = bool(words & DECREASE_WORDS), bool(words & INCREASE_WORDS)
    if decreasing != increasing:
        return "decrease" if decreasing else "increase"
    return None


def _words(draft: Mapping[str, Any]) -> list[str]:
    text = f"{draft.get('title') or ''} {draft.get('description') or ''}".lower()
    return _WORD.findall(text)


def _verdict(ok: bool, reason: str) -> Verdict:
    return {"ok": ok, "reason": reason}


def _specific(draft: Mapping[str, Any], suggestions: list[str]) -> Verdict:
    title = str(draft.get("title") or "").strip()
    action_hint = ("Say what you will do, and when, where or how often: for example "
                   "“walk for 20 minutes after lunch”.")
    if not title:
        suggestions.append("Give the goal a short title. " + action_hint)
        return _verdict(False, "The goal has no title yet.")
    words = _words(draft)
    concrete = [w for w in words if w not in VAGUE_WORDS and w not in FILLER_WORDS]
    if len(concrete) >= MIN_CONCRETE_WORDS:
        return _verdict(True, f"It says what you will do: “{title}”.")
    suggestions.append(action_hint)
    vague = list(dict.fromkeys(w for w in words if w in VAGUE_WORDS))
    if vague:
        return _verdict(False, f"“{title}” names a feeling or a state ({', '.join(vague)}) "
                               f"but not what you will do.")
    return _verdict(False, f"“{title}” needs more detail about what you will do.")


def _measurable(measure: Measure, suggestions: list[str]) -> Verdict:
    if not measure:
        suggestions.append(
            "Add a measure, with where you are now and where you want to be: something to "
            "count (cigarettes a day), time (minutes a day), rate (0–10), tick off (yes/no) "
            "or a questionnaire score (for example PHQ-9).")
        return _verdict(False, "There is no measure yet, so there is no way to see progress.")

    problems: list[tuple[str, str]] = []  # (reason, suggestion)
    kind = measure.get("kind")
    if kind not in KINDS:
        problems.append((
            f"“{kind}” is not a kind of measure we know." if kind else
            "The measure does not say what kind it is.",
            "Choose a kind of measure: count, duration, scale, boolean (yes/no) or instrument "
            "(a questionnaire)."))
    if kind == "instrument" and not measure.get("instrument"):
        problems.append(("The measure does not say which questionnaire to use.",
                         "Name the questionnaire, for example phq9 or gad7."))
    if kind == "duration" and not str(measure.get("unit") or "").strip():
        problems.append(("The measure does not say the unit of time.",
                         "Give the unit of time, for example minutes."))
    if measure.get("per") is not None and measure.get("per") not in PERIODS:
        problems.append((f"“{measure.get('per')}” is not a period we know.",
                         "Set per to day, week or month."))
    explicit = measure.get("direction")
    if explicit is not None and explicit not in DIRECTIONS:
        problems.append((f"“{explicit}” is not a direction we know.",
                         "Set the direction to increase or decrease."))

    baseline, target = number(measure.get("baseline")), number(measure.get("target"))
    if baseline is None or target is None:
        problems.append(("The measure needs a starting point (baseline) and a target, as numbers.",
                         "Add where you are now (baseline) and where you want to be (target)."))
    elif baseline == target:
        problems.append(("The target is the same as the starting point, so there is nothing to change.",
                         "Set a target different from the starting point."))
    elif explicit in DIRECTIONS and direction_of({"baseline": baseline, "target": target}) != explicit:
        side = "below" if target < baseline else "above"
        problems.append((f"The target ({plain(target)}) is {side} the starting point "
                         f"({plain(baseline)}), but the direction says {explicit}.",
                         "Check the target and the direction: one of them is the wrong way round."))

    if problems or baseline is None or target is None:  # missing numbers are among the problems
        suggestions.extend(suggestion for _, suggestion in problems)
        return _verdict(False, " ".join(reason for reason, _ in problems))
    return _verdict(True, _describe(measure, baseline, target))


def _describe(measure: Measure, baseline: float, target: float) -> str:
    if measure["kind"] == "boolean":
        return "Progress is a yes/no: done or not yet."
    if measure["kind"] == "instrument":
        what = f"{measure['instrument']} scores"
    else:
        what = str(measure.get("unit") or "").strip() or measure["kind"]
    if measure.get("per"):
        what += f" per {measure['per']}"
    return (f"Progress is measured as {what}, from {plain(baseline)} to {plain(target)} "
            f"({direction_of(measure)}).")


def _achievable(
    measure: Measure, measurable_ok: bool, start: date, target_date: date | None,
    instrument_ranges: InstrumentRanges | None, suggestions: list[str],
) -> Verdict:
    baseline, target = number(measure.get("baseline")), number(measure.get("target"))
    if not measurable_ok or target_date is None or baseline is None or target is None:
        return _verdict(False, "We can't tell yet whether this is within reach: that needs a "
                               "complete measure and a target date.")
    if target_date <= start:
        return _verdict(False, "We can't check the pace because the target date is not after "
                               "the start date.")
    if measure["kind"] == "boolean":
        return _verdict(True, "A yes/no goal is reached in one step, so there is no pace to check.")

    change = abs(target - baseline)
    weeks = (target_date - start).days / 7
    if measure["kind"] == "instrument":
        code = measure["instrument"]
        known = (instrument_ranges or {}).get(code)
        if known is None:
            return _verdict(False, f"We can't check the pace without the score range of {code}.")
        low, high = known
        limit = MAX_WEEKLY_INSTRUMENT_SHARE * (high - low)
        pace = change / weeks
        if pace <= limit:
            return _verdict(True, f"About {pace:.1f} points a week, within the {limit:.1f} a "
                                  f"week we consider achievable on {code}.")
        needed_days = math.ceil(change / limit * 7)
        _suggest_more_time(start, needed_days, suggestions)
        return _verdict(False, (
            f"Going from {plain(baseline)} to {plain(target)} on {code} by {target_date} is "
            f"{pace:.1f} points a week. More than {limit:.1f} a week (a tenth of the "
            f"{plain(low)}–{plain(high)} score range) is faster than we'd expect."))

    share = change / max(abs(baseline), abs(target))
    pace = share / weeks
    if pace <= MAX_WEEKLY_SHARE:
        return _verdict(True, f"About {_percent(pace)} change a week, within the "
                              f"{_percent(MAX_WEEKLY_SHARE)} a week we consider achievable.")
    needed_days = math.ceil(share / MAX_WEEKLY_SHARE * 7)
    _suggest_more_time(start, needed_days, suggestions)
    return _verdict(False, (
        f"Going from {plain(baseline)} to {plain(target)} by {target_date} is a change of "
        f"{_percent(share)} in {weeks:.1f} weeks, about {_percent(pace)} a week. More than "
        f"{_percent(MAX_WEEKLY_SHARE)} a week is hard to keep up."))


def _suggest_more_time(start: date, needed_days: int, suggestions: list[str]) -> None:
    suggestions.append(f"Give it more time (a target date on or after "
                       f"{start + timedelta(days=needed_days)}), or set a nearer first target.")


def _percent(share: float) -> str:
    """12.5% stays 12.5%, 50.0% reads 50%."""
    return f"{plain(round(share * 100, 1))}%"


def _realistic(
    measure: Measure, start: date, target_date: date | None, today: date,
    instrument_ranges: InstrumentRanges | None, suggestions: list[str],
) -> Verdict:
    if number(measure.get("target")) is None:
        return _verdict(False, "We can't tell yet whether the target is possible: the measure "
                               "needs a target.")
    problems: list[str] = []
    for label, key in (("starting point", "baseline"), ("target", "target")):
        value = number(measure.get(key))
        if value is None:
            continue
        problem = value_problem(measure, value, instrument_ranges)
        if problem:
            problems.append(f"The {label} ({plain(value)}) {problem}.")
    if problems:
        suggestions.append("Choose a starting point and a target the measure can actually take.")
    code = measure.get("instrument")
    if measure.get("kind") == "instrument" and code and code not in (instrument_ranges or {}):
        problems.append(f"We don't know the score range of {code}, so we can't check the target.")

    date_problem = _date_problem(start, target_date, today)
    if date_problem:
        problems.append(date_problem)
        suggestions.append("Choose a target date after today and after the start date.")

    if problems:
        return _verdict(False, " ".join(problems))
    return _verdict(True, "The target is possible for this measure and the dates are in order.")


def _date_problem(start: date, target_date: date | None, today: date) -> str | None:
    if target_date is None:
        return None
    if target_date < today:
        return f"The target date ({target_date}) has already passed."
    if target_date <= start:
        return f"The target date ({target_date}) must be after the start date ({start})."
    return None


def _time_bound(target_date: date | None, suggestions: list[str]) -> Verdict:
    if target_date is None:
        suggestions.append("Add a target date to aim for and to review progress against.")
        return _verdict(False, "There is no target date, so there is no point to aim for or "
                               "to review progress against.")
    return _verdict(True, f"It has a target date: {target_date}.")


def _suggest_direction(draft: Mapping[str, Any], measure: Measure, suggestions: list[str]) -> None:
    """When the direction is not stated, say how we read it so the client can confirm it."""
    if measure.get("direction") is not None:
        return
    direction = infer_direction(draft)
    if direction is None:
        return
    if direction_of(measure) is not None:
        side = "below" if direction == "decrease" else "above"
        suggestions.append(f"We read this as something to {direction}, because the target is "
                           f"{side} the starting point: set the direction to “{direction}”.")
    else:
        suggestions.append(f"This sounds like something to {direction}: when you add the "
                           f"measure, set its direction to “{direction}”.")
