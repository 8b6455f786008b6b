"""Instrument definitions: the schema that checks them, and the loader for the built-ins.

One schema serves both the built-in JSON files read at start-up and a tenant's own instrument
posted to ``POST /v1/instruments``, so every error names the field that is wrong, in the shape
of the definition its author wrote: ``{"items": {"3": {"options": [...]}}}``,
``{"bands": ["bands overlap at 10"]}``.

Use :func:`parse_instrument` for a posted definition (raises :class:`InstrumentError`) and
:func:`load_builtin_instruments` for the shipped library (raises
:class:`InstrumentDefinitionError`, naming the file, so a bad file stops start-up).
"""
from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from marshmallow import Schema, ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Length, OneOf, Range, Regexp

from shared.instrument_ranges import INSTRUMENTS_DIR
from shared.schemas import Text

from . import codes
from .definition_checks import (
    Errors,
    check_bands,
    check_change,
    check_codes,
    check_critical_items,
    check_extras,
    check_missing,
    check_range,
    check_subscales,
)
from .model import (
    HIGHER_IS_BETTER,
    HIGHER_IS_WORSE,
    Band,
    ChangeRules,
    Coding,
    CriticalItem,
    Derived,
    ExpectedRecovery,
    Indicator,
    Instrument,
    Item,
    Licence,
    MissingRule,
    Option,
    ReliableChange,
    Response,
    Scoring,
    Source,
    Subscale,
    Threshold,
)

# The built-in definitions are shared data: the goals service reads their score ranges too.
BUILTIN_DIR = INSTRUMENTS_DIR


class Matches(Regexp):
    """The whole string must match the pattern. ``Regexp`` uses ``re.match``, and "$" also
    matches before a final newline, so "phq9\\n" would pass ``Regexp(r"^[a-z0-9]+$")``.
    Patterns keep their "^" and "$" so that the OpenAPI document shows them anchored."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


# Names end up in error keys ("answers.<id>"), URLs (/v1/instruments/<code>) and JSON keys of
# scores, so they are kept to plain characters.
CODE = Matches(r"^[a-z0-9][a-z0-9_-]{0,31}$", error="must be lower-case letters, digits, - or _")
ITEM_ID = Matches(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$", error="must be letters, digits, . - or _")
NAME = Matches(r"^[a-z][a-z0-9_]{0,63}$", error="must be snake_case, e.g. moderately_severe")
TEXT = Length(min=1)


class InstrumentError(Exception):
    """A definition is invalid; ``errors`` maps each wrong field (nested as in the definition,
    list positions as strings) to its messages."""

    def __init__(self, errors: Mapping[str, Any]):
        super().__init__(f"invalid instrument definition: {errors}")
        self.errors = errors


class InstrumentDefinitionError(InstrumentError):
    """A built-in instrument file is invalid; the message names the file and the field."""

    def __init__(self, file: str, errors: Mapping[str, Any]):
        Exception.__init__(self, f"{file}: invalid instrument definition: {errors}")
        self.file = file
        self.errors = errors


# No published instrument needs a number beyond a billion either way; beyond 2**63 a whole
# number cannot even be stored.
LARGEST = 10**9
# A min/max item is answered on a scale of at most this many steps (a 0-100 visual analogue
# scale has 100); its answers are enumerated when a definition is checked and an answer described.
MAX_SCALE_STEPS = 1000
IN_BOUNDS = Range(min=-LARGEST, max=LARGEST, error=f"must be between -{LARGEST:,} and {LARGEST:,}")


class Number(fields.Number):
    """A JSON number: int stays int, float stays float, both ways; booleans and strings are
    refused (``fields.Float`` would turn 10 into 10.0 and accept "10")."""

    num_type = float
    default_error_messages = {"invalid": "must be a number"}

    def __init__(self, **kwargs):
        super().__init__(**{**kwargs, "validate": [IN_BOUNDS, *_validators(kwargs.get("validate"))]})

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.make_error("invalid")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return value


def _validators(given) -> list:
    if given is None:
        return []
    return list(given) if isinstance(given, (list, tuple)) else [given]


def _strict_bool(**kwargs) -> fields.Boolean:
    # marshmallow's default Boolean also takes "yes", 1, "on"...; a definition says true/false.
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


def _int(**kwargs) -> fields.Integer:
    validate = [IN_BOUNDS, *_validators(kwargs.pop("validate", None))]
    return fields.Integer(strict=True, validate=validate, **kwargs)


def _stringify(errors: Any) -> Any:
    """marshmallow keys list errors by int position; JSON keys are strings."""
    if isinstance(errors, Mapping):
        return {str(key): _stringify(value) for key, value in errors.items()}
    return errors


class OptionSchema(Schema):
    value = _int(required=True)
    label = Text(required=True, validate=TEXT)

    @post_load
    def build(self, data, **kwargs):
        return Option(**data)


class ItemSchema(Schema):
    id = Text(required=True, validate=ITEM_ID)
    text = Text(required=True, validate=TEXT)
    min = _int()
    max = _int()
    options = fields.List(fields.Nested(OptionSchema), validate=Length(min=2))
    reverse = _strict_bool(load_default=False)
    scores = fields.Dict(keys=Text(), values=_int())
    optional = _strict_bool(load_default=False)

    @validates_schema
    def check(self, data, **kwargs):
        errors = Errors()
        options, low, high = data.get("options"), data.get("min"), data.get("max")
        if options is not None and (low is not None or high is not None):
            errors.add(("options",), "give either options or min and max, not both")
        elif options is None and low is None and high is None:
            errors.add(("options",), "give options, or min and max")
        elif options is None and (low is None or high is None):
            errors.add(("min" if low is None else "max",), "min and max go together")
        elif options is None and low > high:
            errors.add(("max",), f"must not be below min ({low})")
        elif options is None and high - low > MAX_SCALE_STEPS:
            errors.add(("max",), f"at most {MAX_SCALE_STEPS} above min ({low})")
        values = [o.value for o in options] if options else []
        for value in sorted({v for v in values if values.count(v) > 1}):
            errors.add(("options",), f"duplicate value {value}")
        errors.raise_if_any()
        if "scores" in data:
            self._check_scores(data, errors)
        errors.raise_if_any()

    @staticmethod
    def _check_scores(data, errors: Errors) -> None:
        if data.get("reverse"):
            errors.add(("reverse",), "cannot be combined with scores; put the reversed points in scores")
        if data.get("options") is not None:
            allowed = {o.value for o in data["options"]}
        else:
            allowed = set(range(data["min"], data["max"] + 1))
        given = set()
        for key in data["scores"]:
            if re.fullmatch(r"-?[0-9]+", key):
                given.add(int(key))
            else:
                errors.add(("scores",), f"key {key!r} is not an answer value")
        for value in sorted(allowed - given):
            errors.add(("scores",), f"no score for answer {value}")
        for value in sorted(given - allowed):
            errors.add(("scores",), f"{value} is not an answer to this item")

    @post_load
    def build(self, data, **kwargs):
        if data.get("options") is not None:
            data["options"] = tuple(data["options"])
        if data.get("scores") is not None:
            data["scores"] = MappingProxyType({int(k): v for k, v in data["scores"].items()})
        return Item(**data)


class SubscaleSchema(Schema):
    items = fields.List(Text(), required=True, validate=Length(min=1))
    method = Text(load_default="sum", validate=OneOf(["sum", "mean"]))
    multiplier = Number(load_default=1, validate=Range(min=0, min_inclusive=False, error="must be positive"))

    @post_load
    def build(self, data, **kwargs):
        return Subscale(items=tuple(data["items"]), method=data["method"], multiplier=data["multiplier"])


class MissingSchema(Schema):
    rule = Text(required=True, validate=OneOf(["refuse", "prorate"]))
    max_missing = _int(validate=Range(min=1))
    source = Text(validate=TEXT)

    @validates_schema
    def check(self, data, **kwargs):
        errors = Errors()
        if data["rule"] == "prorate":
            if "max_missing" not in data:
                errors.add(("max_missing",), "required when rule is prorate")
            if "source" not in data:
                errors.add(("source",), "required when rule is prorate: name where the rule comes from")
        elif "max_missing" in data:
            errors.add(("max_missing",), "only for rule prorate")
        errors.raise_if_any()

    @post_load
    def build(self, data, **kwargs):
        return MissingRule(**data)


class DerivedSchema(Schema):
    name = Text(required=True, validate=NAME)
    multiplier = Number(required=True, validate=Range(min=0, min_inclusive=False, error="must be positive"))
    source = Text(required=True, validate=TEXT)

    @post_load
    def build(self, data, **kwargs):
        return Derived(**data)


class IndicatorSchema(Schema):
    name = Text(required=True, validate=NAME)
    at_or_above = Number()
    endorsed_at = _int()
    min_endorsed = fields.Dict(keys=Text(), values=_int(validate=Range(min=1)))
    source = Text(required=True, validate=TEXT)

    @validates_schema
    def check(self, data, **kwargs):
        cutoff = "at_or_above" in data
        count = "endorsed_at" in data or "min_endorsed" in data
        if cutoff == count:
            raise ValidationError("give either at_or_above, or endorsed_at with min_endorsed")
        if count and not ("endorsed_at" in data and "min_endorsed" in data):
            missing = "endorsed_at" if "endorsed_at" not in data else "min_endorsed"
            raise ValidationError({missing: ["endorsed_at and min_endorsed go together"]})

    @post_load
    def build(self, data, **kwargs):
        if "min_endorsed" in data:
            data["min_endorsed"] = MappingProxyType(dict(data["min_endorsed"]))
        return Indicator(**data)


class ScoringSchema(Schema):
    method = Text(required=True, validate=OneOf(["sum", "mean"]))
    multiplier = Number(load_default=1, validate=Range(min=0, min_inclusive=False, error="must be positive"))
    range = fields.List(Number(), required=True, validate=Length(equal=2, error="must be [min, max]"))
    decimals = _int(load_default=0, validate=Range(min=0, max=4))
    subscales = fields.Dict(
        keys=Text(validate=Matches(r"^[A-Za-z0-9_]{1,64}$", error="must be letters, digits or _")),
        values=fields.Nested(SubscaleSchema),
    )
    # The documented default is the rule as a caller writes it: dumping MissingRule("refuse") would
    # show null for the fields a refuse rule leaves out, which the Missing schema does not allow.
    missing = fields.Nested(MissingSchema, load_default=MissingRule("refuse"), metadata={"default": {"rule": "refuse"}})
    derived = fields.List(fields.Nested(DerivedSchema), load_default=())
    indicators = fields.List(fields.Nested(IndicatorSchema), load_default=())
    source = Text(required=True, validate=TEXT)

    @validates_schema
    def check(self, data, **kwargs):
        low, high = data["range"]
        if low > high:
            raise ValidationError({"range": ["min must not be above max"]})

    @post_load
    def build(self, data, **kwargs):
        data["range"] = tuple(data["range"])
        data["subscales"] = MappingProxyType(dict(data.get("subscales", {})))
        data["derived"] = tuple(data["derived"])
        data["indicators"] = tuple(data["indicators"])
        return Scoring(**data)


class BandSchema(Schema):
    min = Number(required=True)
    max = Number(required=True)
    label = Text(required=True, validate=NAME)
    source = Text(required=True, validate=TEXT)

    @post_load
    def build(self, data, **kwargs):
        return Band(**data)


class CriticalItemSchema(Schema):
    item = Text(required=True)
    above = Number(required=True)
    flag = Text(required=True, validate=NAME)
    source = Text(required=True, validate=TEXT)

    @post_load
    def build(self, data, **kwargs):
        return CriticalItem(**data)


class ThresholdSchema(Schema):
    at_or_above = Number()
    below = Number()
    source = Text(required=True, validate=TEXT)

    @validates_schema
    def check(self, data, **kwargs):
        if ("at_or_above" in data) == ("below" in data):
            raise ValidationError("give either at_or_above or below")

    @post_load
    def build(self, data, **kwargs):
        return Threshold(**data)


class ReliableChangeSchema(Schema):
    points = Number(validate=Range(min=0, min_inclusive=False, error="must be positive"))
    reliability = Number(
        validate=Range(min=0, max=1, min_inclusive=False, max_inclusive=False, error="must be between 0 and 1")
    )
    sd = Number(validate=Range(min=0, min_inclusive=False, error="must be positive"))
    source = Text(required=True, validate=TEXT)

    @validates_schema
    def check(self, data, **kwargs):
        published = "points" in data
        computed = "reliability" in data or "sd" in data
        if published == computed:
            raise ValidationError("give either points, or reliability and sd")
        if computed and not ("reliability" in data and "sd" in data):
            missing = "reliability" if "reliability" not in data else "sd"
            raise ValidationError({missing: ["reliability and sd go together"]})

    @post_load
    def build(self, data, **kwargs):
        return ReliableChange(**data)


class ResponseSchema(Schema):
    fraction = Number(
        required=True, validate=Range(min=0, max=1, min_inclusive=False, error="must be above 0 and at most 1")
    )
    source = Text(required=True, validate=TEXT)

    @post_load
    def build(self, data, **kwargs):
        return Response(**data)


class ExpectedRecoverySchema(Schema):
    fraction = Number(
        required=True, validate=Range(min=0, max=1, min_inclusive=False, error="must be above 0 and at most 1")
    )
    by_week = Number(required=True, validate=Range(min=0, min_inclusive=False, error="must be positive"))
    source = Text(required=True, validate=TEXT)

    @post_load
    def build(self, data, **kwargs):
        return ExpectedRecovery(**data)


class ChangeSchema(Schema):
    direction = Text(required=True, validate=OneOf([HIGHER_IS_WORSE, HIGHER_IS_BETTER]))
    reliable_change = fields.Nested(ReliableChangeSchema)
    caseness = fields.Nested(ThresholdSchema)
    remission = fields.Nested(ThresholdSchema)
    response = fields.Nested(ResponseSchema)
    expected_recovery = fields.Nested(ExpectedRecoverySchema)

    @validates_schema
    def check(self, data, **kwargs):
        worse_up = data["direction"] == HIGHER_IS_WORSE
        errors = Errors()
        caseness, remission = data.get("caseness"), data.get("remission")
        # A case is on the worse side of the cut-off and remission on the better side; the
        # other spelling would silently invert the rule.
        if caseness is not None and (caseness.at_or_above is None) == worse_up:
            side = "at_or_above" if worse_up else "below"
            errors.add(("caseness",), f"a case is {side} the cut-off")
        if remission is not None and (remission.below is None) == worse_up:
            side = "below" if worse_up else "at_or_above"
            errors.add(("remission",), f"remission is {side} the cut-off")
        # "Reliably worse than expected" is measured in the reliable change value.
        if data.get("expected_recovery") is not None and data.get("reliable_change") is None:
            errors.add(("expected_recovery",), "needs a reliable_change to say when a score is off track")
        errors.raise_if_any()

    @post_load
    def build(self, data, **kwargs):
        return ChangeRules(**data)


class CodingSchema(Schema):
    """A code for the instrument, its total or an item (``domain/codes.py``)."""

    system = Text(
        required=True,
        validate=[Length(max=255), Matches(codes.URI, error="must be an absolute URI, e.g. http://loinc.org")],
        metadata={"description": "the code system, e.g. http://loinc.org"},
    )
    code = Text(
        required=True,
        validate=[
            Length(min=1, max=64),
            Matches(codes.CODE, error="must have no control characters and no spaces at either end"),
        ],
        metadata={"description": "the code; a LOINC code must have its right check digit"},
    )
    display = Text(
        validate=[Length(min=1, max=500), Matches(codes.NO_CONTROL, error="must have no control characters")],
        metadata={"description": "the code's name in its system"},
    )
    role = Text(
        required=True,
        validate=Matches(codes.ROLE, error="must be panel, total or item:<item id>"),
        metadata={"description": "what is coded: panel (the questionnaire), total (its total score) or item:<item id>"},
    )
    source = Text(validate=TEXT, metadata={"description": "where the code was confirmed"})

    @validates_schema
    def check(self, data, **kwargs):
        if data["system"] == codes.LOINC:
            problem = codes.loinc_problem(data["code"])
            if problem is not None:
                raise ValidationError({"code": [problem]})

    @post_load
    def build(self, data, **kwargs):
        return Coding(**data)


class SourceSchema(Schema):
    id = Text(required=True, validate=TEXT)
    citation = Text(required=True, validate=TEXT)
    url = Text(validate=TEXT)

    @post_load
    def build(self, data, **kwargs):
        return Source(**data)


class LicenceSchema(Schema):
    text = Text(required=True, validate=TEXT)
    redistribute_items = _strict_bool(required=True)
    url = Text(validate=TEXT)

    @post_load
    def build(self, data, **kwargs):
        return Licence(**data)


class InstrumentSchema(Schema):
    """An instrument definition. ``load`` returns an :class:`Instrument`."""

    code = Text(required=True, validate=CODE)
    name = Text(required=True, validate=TEXT)
    version = Text(required=True, validate=TEXT)
    instructions = Text(validate=TEXT)
    items = fields.List(fields.Nested(ItemSchema), required=True, validate=Length(min=1))
    scoring = fields.Nested(ScoringSchema, required=True)
    bands = fields.List(fields.Nested(BandSchema), load_default=())
    critical_items = fields.List(fields.Nested(CriticalItemSchema), load_default=())
    change = fields.Nested(ChangeSchema)
    codes = fields.List(
        fields.Nested(CodingSchema),
        load_default=(),
        validate=Length(max=1000),
        metadata={"description": "codes for the instrument (role panel), its total (total) and its items (item:<id>)"},
    )
    sources = fields.List(fields.Nested(SourceSchema), required=True, validate=Length(min=1))
    licence = fields.Nested(LicenceSchema, required=True)
    notes = Text(validate=TEXT)

    @validates_schema
    def check(self, data, **kwargs):
        errors = Errors()
        items = data["items"]
        by_id = {}
        for index, item in enumerate(items):
            if item.id in by_id:
                errors.add(("items", index, "id"), f"duplicate item id {item.id}")
            by_id.setdefault(item.id, item)
        errors.raise_if_any()
        scoring = data["scoring"]
        check_range(scoring, items, errors)
        check_subscales(scoring, by_id, errors)
        check_missing(scoring, items, errors)
        check_extras(scoring, by_id, errors)
        check_bands(data["bands"], scoring, errors)
        check_critical_items(data["critical_items"], by_id, errors)
        check_codes(data["codes"], by_id, errors)
        if data.get("change") is not None:
            check_change(data["change"], scoring, errors)
        errors.raise_if_any()

    @post_load
    def build(self, data, **kwargs):
        for name in ("items", "bands", "critical_items", "codes", "sources"):
            data[name] = tuple(data[name])
        # Bands are kept in score order so band lookup can read them as lower bounds.
        data["bands"] = tuple(sorted(data["bands"], key=lambda band: band.min))
        return Instrument(**data)


def parse_instrument(data: Any) -> Instrument:
    """Validate a definition (e.g. a tenant's posted instrument) and build it.

    Raises :class:`InstrumentError` whose ``errors`` names every wrong field."""
    try:
        return InstrumentSchema().load(data)
    except ValidationError as error:
        raise InstrumentError(_stringify(error.messages)) from None


def load_instruments(directory: Path) -> dict[str, Instrument]:
    """Read and validate every ``*.json`` in ``directory``; the file name must be the code.

    Raises :class:`InstrumentDefinitionError` naming the first bad file and its fields."""
    found: dict[str, Instrument] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise InstrumentDefinitionError(path.name, {"_file": [f"not JSON: {error}"]}) from None
        try:
            instrument = parse_instrument(data)
        except InstrumentError as error:
            raise InstrumentDefinitionError(path.name, error.errors) from None
        if instrument.code != path.stem:
            message = f"{instrument.code} does not match the file name"
            raise InstrumentDefinitionError(path.name, {"code": [message]})
        found[instrument.code] = instrument
    return found


@functools.cache
def _builtins() -> Mapping[str, Instrument]:
    return MappingProxyType(load_instruments(BUILTIN_DIR))


def load_builtin_instruments() -> dict[str, Instrument]:
    """The shipped instrument library by code, validated once and cached.

    Call it at start-up so that a bad file stops the service with an error naming the file."""
    return dict(_builtins())
