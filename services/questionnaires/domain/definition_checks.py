"""Cross-field checks of an instrument definition, run after each field has been read.

They catch the mistakes a field-by-field schema cannot: bands that leave a gap or overlap, a
declared range the items cannot produce, a flag, subscale or indicator that names an item or
subscale that does not exist, a cut-off outside the range. Each adds its message at the path
of the field to fix, so the author of the definition is pointed at the right line.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import ValidationError

from .codes import item_of
from .model import Band, ChangeRules, Coding, CriticalItem, Item, Scoring


def fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


class Errors:
    """Collects cross-field errors at nested paths, so one response names every problem."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[Any, ...], message: str) -> None:
        node = self.tree
        for key in path[:-1]:
            node = node.setdefault(str(key), {})
        node.setdefault(str(path[-1]), []).append(message)

    def raise_if_any(self) -> None:
        if self.tree:
            raise ValidationError(self.tree)


def computed_range(scoring: Scoring, items: Sequence[Item]) -> tuple[float, float]:
    lows, highs = zip(*(item.score_bounds() for item in items), strict=True)
    if scoring.method == "sum":
        low, high = sum(lows), sum(highs)
    else:
        low, high = sum(lows) / len(items), sum(highs) / len(items)
    return low * scoring.multiplier, high * scoring.multiplier


def check_range(scoring: Scoring, items: Sequence[Item], errors: Errors) -> None:
    # The declared range is what clients and goals rely on; it must be what the items give.
    low, high = computed_range(scoring, items)
    declared_low, declared_high = scoring.range
    if not (close(low, declared_low) and close(high, declared_high)):
        errors.add(
            ("scoring", "range"),
            f"items give [{fmt(low)}, {fmt(high)}] "
            f"but range says [{fmt(declared_low)}, {fmt(declared_high)}]",
        )


def check_subscales(scoring: Scoring, by_id: Mapping[str, Item], errors: Errors) -> None:
    for name, subscale in scoring.subscales.items():
        for item_id in subscale.items:
            if item_id not in by_id:
                errors.add(("scoring", "subscales", name, "items"), f"unknown item {item_id}")
        for item_id in sorted({i for i in subscale.items if subscale.items.count(i) > 1}):
            errors.add(("scoring", "subscales", name, "items"), f"item {item_id} listed twice")


def check_missing(scoring: Scoring, items: Sequence[Item], errors: Errors) -> None:
    rule = scoring.missing
    required = [item for item in items if not item.optional]
    if rule.rule == "prorate" and rule.max_missing is not None and rule.max_missing >= len(required):
        errors.add(
            ("scoring", "missing", "max_missing"),
            f"must leave at least one answered item: {len(required)} items are not optional",
        )


def check_extras(scoring: Scoring, by_id: Mapping[str, Item], errors: Errors) -> None:
    low, high = scoring.range
    names = [d.name for d in scoring.derived] + [i.name for i in scoring.indicators]
    for name in sorted({n for n in names if names.count(n) > 1}):
        errors.add(("scoring",), f"name {name} is used twice in derived and indicators")
    for index, indicator in enumerate(scoring.indicators):
        path = ("scoring", "indicators", index)
        if indicator.at_or_above is not None and not low < indicator.at_or_above <= high:
            errors.add(path + ("at_or_above",), f"must be within the range ({fmt(low)} to {fmt(high)})")
        for subscale_name, count in (indicator.min_endorsed or {}).items():
            subscale = scoring.subscales.get(subscale_name)
            if subscale is None:
                errors.add(path + ("min_endorsed",), f"unknown subscale {subscale_name}")
            elif count > len(subscale.items):
                errors.add(path + ("min_endorsed",), f"{subscale_name} has only {len(subscale.items)} items")
            else:
                known = [by_id[i].score_bounds()[1] for i in subscale.items if i in by_id]
                if known and indicator.endorsed_at is not None and indicator.endorsed_at > max(known):
                    message = f"no item in {subscale_name} can score {indicator.endorsed_at}"
                    errors.add(path + ("endorsed_at",), message)


def check_bands(bands: Sequence[Band], scoring: Scoring, errors: Errors) -> None:
    if not bands:
        return
    low, high = scoring.range
    # The smallest step between two totals: 1 for whole-number totals, 0.1 with decimals 1...
    step = 10 ** -scoring.decimals
    labels = [band.label for band in bands]
    for label in sorted({x for x in labels if labels.count(x) > 1}):
        errors.add(("bands",), f"duplicate label {label}")
    for band in bands:
        if band.min > band.max:
            errors.add(("bands",), f"band {band.label}: min {fmt(band.min)} is above max {fmt(band.max)}")
    ordered = sorted(bands, key=lambda band: band.min)
    if not close(ordered[0].min, low):
        errors.add(("bands",), f"bands start at {fmt(ordered[0].min)} but the range starts at {fmt(low)}")
    if not close(max(band.max for band in bands), high):
        end = max(band.max for band in bands)
        errors.add(("bands",), f"bands end at {fmt(end)} but the range ends at {fmt(high)}")
    for before, after in itertools.pairwise(ordered):
        if after.min <= before.max:
            errors.add(("bands",), f"bands overlap at {fmt(after.min)}")
        elif after.min - before.max > step and not close(after.min - before.max, step):
            errors.add(("bands",), f"gap between {fmt(before.max)} and {fmt(after.min)}")


def check_critical_items(critical_items: Sequence[CriticalItem], by_id: Mapping[str, Item], errors: Errors) -> None:
    for index, critical in enumerate(critical_items):
        path = ("critical_items", index)
        item = by_id.get(critical.item)
        if item is None:
            errors.add(path + ("item",), f"unknown item {critical.item}")
            continue
        values = item.answer_values()
        if not min(values) <= critical.above < max(values):
            message = f"must be from {min(values)} to {max(values) - 1}, or the flag never or always fires"
            errors.add(path + ("above",), message)


def check_change(change: ChangeRules, scoring: Scoring, errors: Errors) -> None:
    low, high = scoring.range
    for name in ("caseness", "remission"):
        threshold = getattr(change, name)
        if threshold is None:
            continue
        cutoff = threshold.at_or_above if threshold.at_or_above is not None else threshold.below
        if not low < cutoff <= high:
            message = f"cut-off {fmt(cutoff)} must be within the range ({fmt(low)} to {fmt(high)})"
            errors.add(("change", name), message)
    if change.reliable_change is not None and change.reliable_change.threshold > high - low:
        message = f"a change of {change.reliable_change.threshold:g} is larger than the whole range"
        errors.add(("change", "reliable_change"), message)




def check_codes(codings: Sequence[Coding], by_id: Mapping[str, Item], errors: Errors) -> None:
    # One code per system and role: two LOINC codes for the same total would leave a reader
    # to guess which one the instrument means.
    seen = set()
    for index, coding in enumerate(codings):
        item_id = item_of(coding.role)
        if item_id is not None and item_id not in by_id:
            errors.add(("codes", index, "role"), f"unknown item {item_id}")
        if (coding.system, coding.role) in seen:
            errors.add(("codes", index, "role"), f"a second {coding.system} code for {coding.role}")
        seen.add((coding.system, coding.role))
