"""Scoring a set of answers against an instrument.

``score(instrument, answers)`` is the only entry point. Answers are a list in item order or an
object keyed by item id; ``None`` (or a left-out key) is an unanswered item, which the
instrument's missing rule accepts or refuses. Anything else that is not a whole number allowed
for its item is refused with :class:`AnswerError`, whose ``errors`` name the answer:
``{"answers.9": ["must be between 0 and 3"]}``. Nothing here raises any other exception for bad
answers, so the API can turn every scoring failure into a 422.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Mapping, Sequence

from .model import Instrument, Item, Subscale


class AnswerError(Exception):
    """The answers cannot be scored; ``errors`` maps ``answers`` or ``answers.<item id>`` to
    messages."""

    def __init__(self, errors: Mapping[str, list[str]]):
        super().__init__("; ".join(f"{key}: {', '.join(messages)}" for key, messages in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class Flag:
    code: str
    item: str
    value: int

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "item": self.item, "value": self.value}


@dataclass(frozen=True)
class Score:
    """A scored response.

    ``total`` is an int when the instrument scores to whole numbers (``decimals`` 0), else a
    float rounded to ``decimals``. ``severity`` is the band label (None for an instrument
    without bands, e.g. PCL-5). ``extras`` holds derived scores and indicators by name (WHO-5
    ``percentage``, PCL-5 ``provisional_ptsd_dsm5``). ``missing_items`` lists unanswered items
    and ``prorated`` says whether the total was scaled up to stand in for them.
    """

    total: int | float
    severity: str | None
    subscales: Mapping[str, int | float | None] = field(default_factory=dict)
    flags: tuple[Flag, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)
    missing_items: tuple[str, ...] = ()
    prorated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "severity": self.severity,
            "subscales": dict(self.subscales),
            "flags": [flag.to_dict() for flag in self.flags],
            "extras": dict(self.extras),
            "missing_items": list(self.missing_items),
            "prorated": self.prorated,
        }


def score(instrument: Instrument, answers: Any) -> Score:
    """Score ``answers``; raises :class:`AnswerError` for anything that cannot be scored."""
    values = _read_answers(instrument, answers)
    missing = tuple(item.id for item in instrument.items if values[item.id] is None)
    # Optional items left out are simply not counted; only a missing required item is stood in for.
    prorated = any(not item.optional for item in instrument.items if values[item.id] is None)
    points = {item.id: item.score_of(value) for item in instrument.items if (value := values[item.id]) is not None}
    scoring = instrument.scoring
    raw = _combine(instrument.items, points, scoring.method) * _exact(scoring.multiplier)
    total = _round(raw, scoring.decimals)
    band = instrument.band_for(total)
    return Score(
        total=total,
        severity=band.label if band else None,
        subscales={name: _subscale(instrument, sub, points) for name, sub in scoring.subscales.items()},
        flags=tuple(
            Flag(rule.flag, rule.item, answer)
            for rule in instrument.critical_items
            if (answer := values[rule.item]) is not None and answer > rule.above
        ),
        extras=_extras(instrument, total, points),
        missing_items=missing,
        prorated=prorated,
    )


def _read_answers(instrument: Instrument, answers: Any) -> dict[str, int | None]:
    """The answer to each item (None: unanswered), or AnswerError naming every bad answer."""
    items = instrument.items
    errors: dict[str, list[str]] = {}
    if isinstance(answers, Mapping):
        known = {item.id for item in items}
        for key in answers:
            if key not in known:
                errors[f"answers.{key}"] = ["unknown item"]
        given = {item.id: answers.get(item.id) for item in items}
    elif isinstance(answers, (list, tuple)):
        if len(answers) != len(items):
            raise AnswerError({"answers": [f"expected {len(items)} answers, got {len(answers)}"]})
        given = {item.id: value for item, value in zip(items, answers, strict=True)}
    else:
        raise AnswerError({"answers": ["must be a list in item order or an object keyed by item id"]})
    for item in items:
        problem = _problem(item, given[item.id])
        if problem:
            errors[f"answers.{item.id}"] = [problem]
    errors.update(_missing_errors(instrument, given))
    if errors:
        raise AnswerError(errors)
    return given


def _problem(item: Item, value: Any) -> str | None:
    if value is None:
        return None
    # bool is an int in Python; true/false is never a questionnaire answer.
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be a whole number ({item.describe_allowed().removeprefix('must be ')})"
    if not item.allows(value):
        return item.describe_allowed()
    return None


def _missing_errors(instrument: Instrument, values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Unanswered items the instrument's missing rule does not allow."""
    unanswered = [item.id for item in instrument.items if values[item.id] is None and not item.optional]
    rule = instrument.scoring.missing
    if not unanswered or (
        rule.rule == "prorate" and rule.max_missing is not None and len(unanswered) <= rule.max_missing
    ):
        return {}
    if rule.rule == "refuse":
        return {f"answers.{item_id}": ["an answer is required"] for item_id in unanswered}
    message = f"an answer is required: at most {rule.max_missing} may be left out"
    return {f"answers.{item_id}": [message] for item_id in unanswered}


def _combine(items: Sequence[Item], points: Mapping[str, int], method: str) -> Fraction:
    """Sum or mean of the answered items' points, scaled up over the unanswered items that
    count (optional items left out do not count)."""
    counted = [item for item in items if item.id in points or not item.optional]
    answered = [points[item.id] for item in counted if item.id in points]
    if not answered:
        return Fraction(0)
    if method == "mean":
        return Fraction(sum(answered), len(answered))
    return Fraction(sum(answered)) * Fraction(len(counted), len(answered))


def _subscale(instrument: Instrument, subscale: Subscale, points: Mapping[str, int]) -> int | float | None:
    items = [item for item in instrument.items if item.id in subscale.items]
    if not any(item.id in points for item in items):
        return None
    value = _combine(items, points, subscale.method) * _exact(subscale.multiplier)
    return _round(value, instrument.scoring.decimals)


def _extras(instrument: Instrument, total: int | float, points: Mapping[str, int]) -> dict[str, Any]:
    scoring = instrument.scoring
    extras: dict[str, Any] = {
        derived.name: _round(_exact(total) * _exact(derived.multiplier), scoring.decimals)
        for derived in scoring.derived
    }
    for indicator in scoring.indicators:
        if indicator.at_or_above is not None:
            extras[indicator.name] = total >= indicator.at_or_above
        elif indicator.endorsed_at is not None and indicator.min_endorsed is not None:
            endorsed_at = indicator.endorsed_at
            extras[indicator.name] = all(
                _endorsed(scoring.subscales[name].items, points, endorsed_at) >= needed
                for name, needed in indicator.min_endorsed.items()
            )
        else:  # the definition schema refuses such an indicator
            raise ValueError(f"indicator {indicator.name} has neither a cut-off nor a symptom count")
    return extras


def _endorsed(item_ids: Sequence[str], points: Mapping[str, int], endorsed_at: int) -> int:
    return sum(1 for item_id in item_ids if item_id in points and points[item_id] >= endorsed_at)


def _exact(number: int | float) -> Fraction:
    # Through str so that 0.1 is one tenth, not the binary float nearest to it.
    return Fraction(str(number)) if isinstance(number, float) else Fraction(number)


def _round(value: Fraction, decimals: int) -> int | float:
    """Round half up (a prorated 16.5 is 17, as on paper), to ``decimals`` places."""
    quantum = Decimal(1).scaleb(-decimals)
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    rounded = exact.quantize(quantum, rounding=ROUND_HALF_UP)
    return int(rounded) if decimals == 0 else float(rounded)
