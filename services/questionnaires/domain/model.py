"""The instrument model: immutable dataclasses built from a validated definition.

The schema in ``instruments.py`` checks a definition and builds these objects; scoring and
change rules read them. They are frozen so that a cached built-in instrument can be shared by
every request without anyone changing a cut-off under another request's feet.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from math import sqrt
from typing import Any, Mapping

HIGHER_IS_WORSE = "higher_is_worse"
HIGHER_IS_BETTER = "higher_is_better"

# Jacobson & Truax (1991): a change is reliable when it exceeds 1.96 standard errors of the
# difference between two scores, i.e. the change that measurement error alone would exceed
# less than 5% of the time.
RCI_Z = 1.96


@dataclass(frozen=True)
class Option:
    value: int
    label: str


@dataclass(frozen=True)
class Item:
    """One question. Its answer is an option value, or a whole number from ``min`` to ``max``.

    ``scores`` maps an answer to the points it earns, for items whose points differ from the
    answer (``reverse`` does the common case of a reversed scale). ``optional`` items may be
    left out without counting as missing: they add nothing and are not prorated (the PHQ-15
    menstrual item, for someone who does not menstruate).
    """

    id: str
    text: str
    min: int | None = None
    max: int | None = None
    options: tuple[Option, ...] | None = None
    reverse: bool = False
    scores: Mapping[int, int] | None = None
    optional: bool = False

    def answer_values(self) -> tuple[int, ...]:
        if self.options is not None:
            return tuple(option.value for option in self.options)
        return tuple(range(self.min, self.max + 1))

    def allows(self, value: int) -> bool:
        if self.options is not None:
            return value in self.answer_values()
        return self.min <= value <= self.max

    def describe_allowed(self) -> str:
        values = sorted(self.answer_values())
        if values == list(range(values[0], values[-1] + 1)):
            return f"must be between {values[0]} and {values[-1]}"
        return "must be one of " + ", ".join(str(v) for v in values)

    def score_of(self, value: int) -> int:
        """The points an allowed answer earns."""
        if self.scores is not None:
            return self.scores[value]
        if self.reverse:
            values = self.answer_values()
            return min(values) + max(values) - value
        return value

    def score_bounds(self) -> tuple[int, int]:
        points = [self.score_of(v) for v in self.answer_values()]
        return min(points), max(points)


@dataclass(frozen=True)
class Subscale:
    items: tuple[str, ...]
    method: str
    multiplier: float = 1


@dataclass(frozen=True)
class MissingRule:
    """What to do when answers are left out.

    ``refuse``: every item that is not optional must be answered. ``prorate``: up to
    ``max_missing`` items may be left out and the total is scaled up from the answered ones,
    which is the same as giving each missing item the mean of the answered items (the NHS rule
    for the WSAS).
    """

    rule: str
    max_missing: int | None = None
    source: str | None = None


@dataclass(frozen=True)
class Derived:
    """A second reading of the total: ``total * multiplier`` (WHO-5 percentage = raw x 4)."""

    name: str
    multiplier: float
    source: str


@dataclass(frozen=True)
class Indicator:
    """A yes/no result beside the total: a cut-off on the total (``at_or_above``), or a symptom
    count (``endorsed_at``: an item counts when it scores at least this; ``min_endorsed``: how
    many items must count in each named subscale), like the PCL-5 DSM-5 rule."""

    name: str
    source: str
    at_or_above: float | None = None
    endorsed_at: int | None = None
    min_endorsed: Mapping[str, int] | None = None


@dataclass(frozen=True)
class Scoring:
    method: str
    range: tuple[float, float]
    source: str
    multiplier: float = 1
    decimals: int = 0
    subscales: Mapping[str, Subscale] = dataclasses.field(default_factory=dict)
    missing: MissingRule = MissingRule("refuse")
    derived: tuple[Derived, ...] = ()
    indicators: tuple[Indicator, ...] = ()


@dataclass(frozen=True)
class Band:
    """A severity band, ``min`` to ``max`` inclusive."""

    min: float
    max: float
    label: str
    source: str


@dataclass(frozen=True)
class CriticalItem:
    """An answer above ``above`` raises ``flag`` whatever the total.

    The threshold is on the answer as the client gave it, not on its points, because that is
    how published rules are written ("item 9 above 0"). Flags are risk signals (they become
    ``risk.flagged`` events and urgent alerts), so only items that signal risk belong here."""

    item: str
    above: float
    flag: str
    source: str


@dataclass(frozen=True)
class Threshold:
    """A region of totals: ``at_or_above`` x, or ``below`` x (the two ways cut-offs are
    published: PHQ-9 caseness ">= 10", WHO-5 "below 13")."""

    source: str
    at_or_above: float | None = None
    below: float | None = None

    def contains(self, total: float) -> bool:
        if self.at_or_above is not None:
            return total >= self.at_or_above
        return total < self.below


@dataclass(frozen=True)
class ReliableChange:
    """The smallest change that is not measurement noise: published ``points``, or the
    Jacobson-Truax threshold 1.96 x SD x sqrt(2(1 - r)) from a published ``reliability`` (r)
    and ``sd``."""

    source: str
    points: float | None = None
    reliability: float | None = None
    sd: float | None = None

    @property
    def threshold(self) -> float:
        if self.points is not None:
            return self.points
        return RCI_Z * self.sd * sqrt(2 * (1 - self.reliability))


@dataclass(frozen=True)
class Response:
    """Treatment response: the score has moved at least ``fraction`` of the way from the
    baseline to the best possible score (for PHQ-9, whose best score is 0, a fall of 50%)."""

    fraction: float
    source: str


@dataclass(frozen=True)
class ExpectedRecovery:
    """A transparent rule for how far a score is expected to have moved by a time after the
    baseline: ``fraction`` of the way from the baseline to the best possible score by
    ``by_week`` weeks (no change expected before then). A rule from a published decision
    point, not a validated prediction (``domain/expected.py``)."""

    fraction: float
    by_week: float
    source: str


@dataclass(frozen=True)
class ChangeRules:
    direction: str
    reliable_change: ReliableChange | None = None
    caseness: Threshold | None = None
    remission: Threshold | None = None
    response: Response | None = None
    expected_recovery: ExpectedRecovery | None = None


@dataclass(frozen=True)
class Coding:
    """A code that names the instrument, its total or one of its items in a code system, for
    systems that speak FHIR (``Questionnaire.code``, ``Observation.code``).

    ``role`` says what is coded: ``panel`` (the questionnaire), ``total`` (its total score) or
    ``item:<item id>``. ``source`` says where the code was confirmed."""

    system: str
    code: str
    role: str
    display: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Source:
    id: str
    citation: str
    url: str | None = None


@dataclass(frozen=True)
class Licence:
    text: str
    redistribute_items: bool
    url: str | None = None


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    version: str
    items: tuple[Item, ...]
    scoring: Scoring
    sources: tuple[Source, ...]
    licence: Licence
    instructions: str | None = None
    bands: tuple[Band, ...] = ()
    critical_items: tuple[CriticalItem, ...] = ()
    change: ChangeRules | None = None
    codes: tuple[Coding, ...] = ()
    notes: str | None = None

    def item(self, item_id: str) -> Item | None:
        for item in self.items:
            if item.id == item_id:
                return item
        return None

    def band_for(self, total: float) -> Band | None:
        """The band a total falls in: the highest band whose ``min`` it reaches.

        Reading bands as lower bounds (not ``min <= total <= max``) is what a published cut-off
        means for a total that is not a whole number, e.g. a prorated 9.6 is not yet "moderate"
        on a scale whose moderate band starts at 10."""
        found = None
        for band in self.bands:
            if total >= band.min:
                found = band
        return found

    def to_dict(self) -> dict[str, Any]:
        """The definition as JSON-ready data, in the shape the schema accepts."""
        return _plain(self)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {
            field.name: _plain(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if getattr(value, field.name) is not None
        }
    if isinstance(value, Mapping):
        # JSON object keys are strings; answer values used as keys (item ``scores``) become "2".
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    return value
