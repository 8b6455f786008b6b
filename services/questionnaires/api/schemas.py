"""Marshmallow schemas of the questionnaires API: every body, query and response, and so the OpenAPI document.

Types are checked here (a wrong type or an unknown field is a 422 naming the field). Answers
are checked against their instrument by the domain (``scoring.score``), which names the item.
An instrument definition is checked by the domain's own schema (``domain.instruments``), the
one the built-ins pass, and shown with it too.
"""
from __future__ import annotations

import math

from marshmallow import Schema, fields, validate

from services.questionnaires.domain.assignments import ASSIGNMENT_STATUSES
from services.questionnaires.domain.change import DETERIORATED, IMPROVED, NO_RELIABLE_CHANGE
from services.questionnaires.domain.instruments import InstrumentSchema
from services.questionnaires.domain.outcomes import CASES_AT_BASELINE, CLIENTS, JUDGED
from services.questionnaires.domain.schedule import COMPLETED, DUE, MISSED, OVERDUE, UPCOMING
from shared.paging import PageQuery
from shared.schemas import Id, Text, UtcDateTime, page_of

RELIABLE_CHANGES = (IMPROVED, DETERIORATED, NO_RELIABLE_CHANGE)
CODE = {"validate": validate.Length(min=1, max=32)}


class Number(fields.Field):
    """A number shown as it is (an int stays an int)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value


class Answers(fields.Raw):
    """A list of answers in item order, or an object keyed by item id; checked by the domain."""

    default_error_messages = {"invalid": "Give a list in item order or an object keyed by item id."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, (list, dict)):
            raise self.make_error("invalid")
        return value


ANSWERS_OPENAPI = {
    "oneOf": [
        {"type": "array", "items": {"type": "integer", "nullable": True}},
        {"type": "object", "additionalProperties": {"type": "integer", "nullable": True}},
    ],
    "description": "answer values in item order, or an object keyed by item id; null leaves an item out",
}


# Requests


class ResponseInSchema(Schema):
    client_id = Id(metadata={"description": "required for staff; a client's own id by default"})
    instrument = Text(required=True, **CODE)
    answers = Answers(required=True, metadata=ANSWERS_OPENAPI)
    completed_at = UtcDateTime(allow_none=True, metadata={"description": "when the client answered; now by default"})
    assignment_id = Id(allow_none=True)
    baseline = fields.Boolean(
        truthy={True}, falsy={False}, load_default=False,
        metadata={"description": "mark this response as the client's baseline on the instrument (therapist or admin only)"},
    )


class ResponseListQuery(PageQuery):
    client_id = Id()
    instrument = Text(**CODE)


class ScoresQuery(Schema):
    instrument = Text(metadata={"description": "one instrument; every instrument answered by default"}, **CODE)


class RecoveryQuery(Schema):
    depression = Text(load_default="phq9", **CODE)
    anxiety = Text(load_default="gad7", **CODE)


class OutcomesQuery(Schema):
    instrument = Text(load_default="phq9", metadata={"description": "the instrument's code; PHQ-9 by default"}, **CODE)
    therapist = Id(metadata={"description": "only this therapist's clients (a therapist's own by default, and only those)"})
    from_ = fields.Date(data_key="from", attribute="from", metadata={
        "description": "only series whose latest score was completed on or after this day (UTC)"})
    to = fields.Date(metadata={"description": "only series whose latest score was completed on or before this day (UTC)"})
    cohort = Text(
        validate=validate.Regexp(r"^[0-9]{4}-(0[1-9]|1[0-2])$", error="Give a month as YYYY-MM, e.g. 2026-01."),
        metadata={"description": "only series whose baseline was completed in this month (UTC), YYYY-MM"},
    )


class AssignmentInSchema(Schema):
    client_id = Id(metadata={"description": "required for staff; a client's own id by default"})
    instrument = Text(required=True, **CODE)
    every_days = fields.Integer(
        strict=True, allow_none=True, load_default=None, validate=validate.Range(min=1, max=366),
        metadata={"description": "repeat every so many days; null: once"},
    )
    starts_at = UtcDateTime(allow_none=True, metadata={"description": "when the first occurrence is due; now by default"})
    ends_at = UtcDateTime(allow_none=True, metadata={"description": "no occurrence opens from then on (exclusive)"})
    therapist_id = Id(
        allow_none=True, metadata={"description": "the therapist responsible; a therapist assigning by default"}
    )


class AssignmentListQuery(PageQuery):
    client_id = Id()
    instrument = Text(**CODE)


class CancelInSchema(Schema):
    reason = Text(allow_none=True, validate=validate.Length(max=1000))


# Responses


class InstrumentViewSchema(InstrumentSchema):
    """An instrument's whole definition, as POST /v1/instruments takes it, and where it comes from."""

    builtin = fields.Boolean(metadata={"description": "shipped with Stepwise; else the clinic's own"})
    created_at = UtcDateTime(allow_none=True)
    created_by = fields.String(allow_none=True)


class FlagViewSchema(Schema):
    code = fields.String()
    item = fields.String()
    value = Number()


class ScoreViewSchema(Schema):
    total = Number()
    severity = fields.String(allow_none=True, metadata={"description": "the band's label"})
    subscales = fields.Dict(keys=fields.String(), values=Number(allow_none=True))
    flags = fields.List(fields.Nested(FlagViewSchema))
    extras = fields.Dict(metadata={"description": "derived scores and indicators by name (e.g. WHO-5 percentage)"})
    missing_items = fields.List(fields.String())
    prorated = fields.Boolean()


class ChangeViewSchema(Schema):
    baseline_total = Number(allow_none=True)
    previous_total = Number(allow_none=True)
    delta = Number(allow_none=True, metadata={"description": "total - baseline_total"})
    reliable_change = fields.String(allow_none=True, validate=validate.OneOf(RELIABLE_CHANGES))
    reliable_change_threshold = Number(allow_none=True)
    clinically_significant = fields.Boolean(allow_none=True)
    clinically_significant_deterioration = fields.Boolean(allow_none=True)
    response = fields.Boolean(allow_none=True)
    remission = fields.Boolean(allow_none=True)
    case = fields.Boolean(allow_none=True)
    baseline_case = fields.Boolean(allow_none=True)
    previous_delta = Number(allow_none=True)
    reliable_change_from_previous = fields.String(allow_none=True, validate=validate.OneOf(RELIABLE_CHANGES))


class ExpectedRecoveryViewSchema(Schema):
    class Meta:
        description = (
            "A follow-up against the instrument's expected-recovery rule (PHQ-9: 25% below baseline from "
            "week 10, ICSI; before then, the baseline). A transparent rule, not a validated prediction. "
            "Null when not known: a baseline, an instrument without a rule (GAD-7 has none), or a "
            "follow-up dated before its baseline."
        )

    baseline_total = Number()
    weeks_since_baseline = Number(metadata={"description": "to a tenth of a week, rounded down"})
    expected_total = Number(metadata={"description": "the score the rule expects by now"})
    worse_than_expected_by = Number(
        metadata={"description": "how far the total is on the worse side of expected_total (negative: better)"}
    )
    reliable_change_threshold = Number()
    not_on_track = fields.Boolean(
        metadata={"description": "worse_than_expected_by is at least the reliable change threshold"}
    )


class ScoredResponseSchema(Schema):
    id = fields.String()
    client_id = fields.String()
    instrument = fields.String()
    instrument_version = fields.String()
    answers = fields.Dict(keys=fields.String(), values=Number(allow_none=True))
    completed_at = UtcDateTime()
    submitted_at = UtcDateTime()
    submitted_by = fields.String()
    therapist_id = fields.String(allow_none=True)
    assignment_id = fields.String(allow_none=True)
    occurrence = fields.Integer(allow_none=True, metadata={"description": "the assignment's occurrence it answers"})
    seq = fields.Integer(metadata={"description": "its place among the client's responses on this instrument"})
    baseline = fields.Boolean(metadata={"description": "this response is the client's baseline on the instrument"})
    score = fields.Nested(ScoreViewSchema)
    change = fields.Nested(ChangeViewSchema)
    expected_recovery = fields.Nested(ExpectedRecoveryViewSchema, allow_none=True)


class BandViewSchema(Schema):
    label = fields.String()
    min = Number()
    max = Number()


class CutOffSchema(Schema):
    at_or_above = Number(allow_none=True)
    below = Number(allow_none=True)


class PointSchema(Schema):
    response_id = fields.String()
    completed_at = UtcDateTime()
    total = Number()
    severity = fields.String(allow_none=True)
    flags = fields.List(fields.Nested(FlagViewSchema))
    baseline = fields.Boolean()
    change = fields.Nested(ChangeViewSchema)
    expected_recovery = fields.Nested(ExpectedRecoveryViewSchema, allow_none=True)


class SeriesSchema(Schema):
    instrument = fields.String()
    name = fields.String()
    range = fields.List(Number(), metadata={"description": "[lowest, highest] total: the chart's axis"})
    direction = fields.String(allow_none=True, metadata={"description": "higher_is_worse or higher_is_better"})
    bands = fields.List(fields.Nested(BandViewSchema))
    caseness = fields.Nested(CutOffSchema, allow_none=True)
    remission = fields.Nested(CutOffSchema, allow_none=True)
    reliable_change_threshold = Number(allow_none=True)
    points = fields.List(fields.Nested(PointSchema), metadata={"description": "oldest completed first"})


class TrajectorySchema(Schema):
    client_id = fields.String()
    series = fields.List(fields.Nested(SeriesSchema))


class SeriesEndsSchema(Schema):
    instrument = fields.String()
    baseline_response_id = fields.String()
    baseline_total = Number()
    final_response_id = fields.String()
    final_total = Number()
    responses = fields.Integer()


class OutcomeSchema(Schema):
    case_at_baseline = fields.Boolean()
    recovered = fields.Boolean(allow_none=True)
    reliable_improvement = fields.Boolean()
    reliable_deterioration = fields.Boolean()
    reliably_recovered = fields.Boolean(allow_none=True)
    source = fields.String()


class RecoverySchema(Schema):
    client_id = fields.String()
    depression = fields.Nested(SeriesEndsSchema, allow_none=True)
    anxiety = fields.Nested(SeriesEndsSchema, allow_none=True)
    outcome = fields.Nested(OutcomeSchema, allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "why there is no outcome yet"})


class OutcomeCountSchema(Schema):
    count = fields.Integer()
    percent = Number(
        allow_none=True, metadata={"description": "of its denominator, to one decimal; null when that is 0 or unknown"})
    of = fields.String(validate=validate.OneOf((CLIENTS, JUDGED, CASES_AT_BASELINE)),
                       metadata={"description": "which of the denominators it is a share of"})


class OutcomeCountsSchema(Schema):
    reliable_improvement = fields.Nested(
        OutcomeCountSchema, metadata={"description": "reliably better (includes reliable recovery)"})
    reliable_recovery = fields.Nested(
        OutcomeCountSchema, metadata={"description": "reliably better, from a case at baseline to not a case"})
    no_reliable_change = fields.Nested(OutcomeCountSchema)
    deterioration = fields.Nested(OutcomeCountSchema, metadata={"description": "reliably worse"})
    not_enough_data = fields.Nested(OutcomeCountSchema, metadata={"description": "no score after the baseline"})


class DenominatorsSchema(Schema):
    clients = fields.Integer(metadata={"description": "series counted"})
    judged = fields.Integer(metadata={"description": "of them, with a score after the baseline"})
    case_at_baseline = fields.Integer(
        allow_none=True, metadata={"description": "of those judged, a case at baseline; null without a caseness rule"})


class OutcomesFiltersSchema(Schema):
    instrument = fields.String()
    therapist = fields.String(allow_none=True)
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String(allow_none=True)
    cohort = fields.String(allow_none=True)


class OutcomesSchema(Schema):
    instrument = fields.String()
    filters = fields.Nested(OutcomesFiltersSchema, metadata={"description": "the filters applied"})
    denominators = fields.Nested(DenominatorsSchema)
    outcomes = fields.Nested(OutcomeCountsSchema)
    reliable_change_threshold = Number()
    source = fields.String()


class OccurrenceViewSchema(Schema):
    index = fields.Integer()
    due_at = UtcDateTime()
    overdue_at = UtcDateTime(allow_none=True)
    closes_at = UtcDateTime(allow_none=True)
    status = fields.String(validate=validate.OneOf([UPCOMING, DUE, OVERDUE, MISSED, COMPLETED]))
    response_id = fields.String(allow_none=True)


class CancellationViewSchema(Schema):
    cancelled_at = UtcDateTime()
    cancelled_by = fields.String()
    reason = fields.String(allow_none=True)


class AssignmentViewSchema(Schema):
    id = fields.String()
    client_id = fields.String()
    instrument = fields.String()
    every_days = fields.Integer(allow_none=True)
    starts_at = UtcDateTime()
    ends_at = UtcDateTime(allow_none=True)
    assigned_by = fields.String()
    therapist_id = fields.String(allow_none=True)
    created_at = UtcDateTime()
    status = fields.String(validate=validate.OneOf(ASSIGNMENT_STATUSES))
    current = fields.Nested(OccurrenceViewSchema, allow_none=True, metadata={"description": "the occurrence open now"})
    next = fields.Nested(OccurrenceViewSchema, allow_none=True, metadata={"description": "the one after it"})
    next_due_at = UtcDateTime(allow_none=True, metadata={"description": "when a response is next wanted"})
    cancellation = fields.Nested(CancellationViewSchema, allow_none=True)


InstrumentPageSchema = page_of(InstrumentViewSchema)
ResponsePageSchema = page_of(ScoredResponseSchema)
AssignmentPageSchema = page_of(AssignmentViewSchema)
