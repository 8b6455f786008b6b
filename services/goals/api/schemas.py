"""Marshmallow schemas of the goals API: every body, query and response, and so the OpenAPI document.

Types and vocabularies are checked here (a wrong type or an unknown field is a 422 naming the
field); rules about the goal as a whole (a measure that hangs together, dates in order,
milestones between baseline and target) are checked by the domain on the merged goal.
"""
from __future__ import annotations

import math

from marshmallow import Schema, ValidationError, fields, validate

from services.goals.domain.lifecycle import STATUSES
from services.goals.domain.measure import DIRECTIONS, KINDS, PERIODS
from services.goals.domain.progress import SOURCES
from shared.paging import PageQuery
from shared.schemas import Id, Text, UtcDateTime, page_of

CATEGORIES = ("personal_growth", "emotional_wellbeing", "relationships", "behavioral")
REVISION_KINDS = ("revise", "status", "milestone_added", "attainment_scale")
TRENDS = ("improving", "worsening", "flat")


# No measure needs more; beyond 8 bytes an integer can't even be stored.
MAX_MAGNITUDE = 1e9


class Number(fields.Float):
    """A JSON number, kept as the int or float it was sent as. A string such as "5" is refused
    rather than converted, and so are NaN, infinities and numbers beyond a billion either way.
    With ``yes_no``, true and false are taken as 1 and 0 (a yes/no measure)."""

    default_error_messages = {
        "invalid": "Not a valid number.",
        "special": "Give a finite number between -1000000000 and 1000000000.",
    }

    def __init__(self, *, yes_no: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.yes_no = yes_no

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            if self.yes_no:
                return int(value)
            raise self.make_error("invalid")
        if not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
            raise self.make_error("special")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class Day(fields.Date):
    """A calendar date, ``YYYY-MM-DD``; stored as that string, so a string is shown as it is."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def text(max_length: int, **kwargs) -> Text:
    return Text(validate=[validate.Length(min=1, max=max_length), not_blank], **kwargs)


# Requests


class MeasureSchema(Schema):
    kind = Text(required=True, validate=validate.OneOf(KINDS))
    unit = Text(allow_none=True, validate=validate.Length(max=50))
    baseline = Number(required=True)
    target = Number(required=True)
    direction = Text(allow_none=True, validate=validate.OneOf(DIRECTIONS))
    per = Text(allow_none=True, validate=validate.OneOf(PERIODS))
    instrument = Text(allow_none=True, validate=validate.Length(min=1, max=50))


class MeasureDraftSchema(Schema):
    """A measure in progress (a PATCH's changes, a draft to check): every field optional."""

    kind = Text(allow_none=True, validate=validate.OneOf(KINDS))
    unit = Text(allow_none=True, validate=validate.Length(max=50))
    baseline = Number(allow_none=True)
    target = Number(allow_none=True)
    direction = Text(allow_none=True, validate=validate.OneOf(DIRECTIONS))
    per = Text(allow_none=True, validate=validate.OneOf(PERIODS))
    instrument = Text(allow_none=True, validate=validate.Length(min=1, max=50))


class MilestoneInSchema(Schema):
    title = text(200, required=True)
    value = Number(allow_none=True, metadata={"description": "a value on the goal's measure; or give percent"})
    percent = Number(allow_none=True, metadata={"description": "a share of the way from baseline to target, above 0 and at most 100"})
    due_date = Day(allow_none=True)


class NewMilestoneSchema(MilestoneInSchema):
    reason = Text(allow_none=True, validate=validate.Length(max=1000))


class GoalDraftSchema(Schema):
    """A goal to check against SMART: nothing is required, nothing is stored."""

    client_id = Id()
    therapist_id = Id(allow_none=True)
    title = Text(allow_none=True, validate=validate.Length(max=200))
    description = Text(allow_none=True, validate=validate.Length(max=4000))
    category = Text(allow_none=True, validate=validate.OneOf(CATEGORIES))
    measure = fields.Nested(MeasureDraftSchema, allow_none=True)
    start_date = Day(allow_none=True)
    target_date = Day(allow_none=True)
    parent_goal_id = Id(allow_none=True)
    milestones = fields.List(fields.Nested(MilestoneInSchema), validate=validate.Length(max=50))


class GoalCreateSchema(Schema):
    client_id = Id(metadata={"description": "required for staff; a client's own id by default"})
    therapist_id = Id(allow_none=True, metadata={"description": "a therapist creating the goal by default"})
    title = text(200, required=True)
    description = Text(allow_none=True, validate=validate.Length(max=4000))
    category = Text(allow_none=True, validate=validate.OneOf(CATEGORIES))
    measure = fields.Nested(MeasureSchema, allow_none=True)
    start_date = Day(allow_none=True, metadata={"description": "today by default"})
    target_date = Day(allow_none=True)
    parent_goal_id = Id(allow_none=True)
    milestones = fields.List(fields.Nested(MilestoneInSchema), load_default=list, validate=validate.Length(max=50))


class GoalPatchSchema(Schema):
    title = text(200)
    description = Text(allow_none=True, validate=validate.Length(max=4000))
    category = Text(allow_none=True, validate=validate.OneOf(CATEGORIES))
    measure = fields.Nested(MeasureDraftSchema, allow_none=True, metadata={"description": "merged field by field"})
    start_date = Day()
    target_date = Day(allow_none=True)
    parent_goal_id = Id(allow_none=True)
    therapist_id = Id(allow_none=True)
    reason = text(1000, required=True, metadata={"description": "why the goal changes; kept in its revisions"})


class ProgressInSchema(Schema):
    value = Number(required=True, yes_no=True)
    recorded_at = UtcDateTime(allow_none=True, metadata={"description": "now by default"})
    note = Text(allow_none=True, validate=validate.Length(max=2000))


class StatusInSchema(Schema):
    status = Text(required=True, validate=validate.OneOf(STATUSES))
    reason = Text(allow_none=True, validate=validate.Length(max=1000))


class AttainmentScaleInSchema(Schema):
    levels = fields.Dict(keys=Text(), values=Text(validate=validate.Length(max=1000)), required=True,
                         metadata={"description": 'the outcome at each level "-2" to "2"'})
    weight = Number(load_default=1)
    reason = Text(allow_none=True, validate=validate.Length(max=1000))


class RatingInSchema(Schema):
    level = fields.Integer(required=True, strict=True, validate=validate.Range(min=-2, max=2))
    note = Text(allow_none=True, validate=validate.Length(max=2000))
    rated_at = UtcDateTime(allow_none=True, metadata={"description": "now by default"})


class GoalListQuery(PageQuery):
    client_id = Id()
    therapist_id = Id()
    parent_goal_id = Id()
    status = Text(validate=validate.OneOf(STATUSES))


# Responses


class CriterionSchema(Schema):
    ok = fields.Boolean()
    reason = fields.String()


class SmartSchema(Schema):
    specific = fields.Nested(CriterionSchema)
    measurable = fields.Nested(CriterionSchema)
    achievable = fields.Nested(CriterionSchema)
    realistic = fields.Nested(CriterionSchema)
    time_bound = fields.Nested(CriterionSchema)
    suggestions = fields.List(fields.String())


class ProgressSchema(Schema):
    current = Number(allow_none=True)
    percent = fields.Float(allow_none=True, metadata={"description": "0-100, from baseline to target"})
    trend = fields.String(allow_none=True, validate=validate.OneOf(TRENDS))
    on_track = fields.Boolean(allow_none=True)
    target_met = fields.Boolean()
    subgoals_percent = fields.Float(allow_none=True, metadata={"description": "the sub-goals' roll-up"})


class MilestoneSchema(Schema):
    id = fields.String()
    title = fields.String()
    value = Number(allow_none=True)
    percent = Number(allow_none=True)
    due_date = Day(allow_none=True)
    threshold = Number(allow_none=True, metadata={"description": "the measure value that reaches it"})
    reached_at = UtcDateTime(allow_none=True)


class SubgoalSchema(Schema):
    id = fields.String()
    title = fields.String()
    status = fields.String()
    percent = fields.Float(allow_none=True)


class RevisionSchema(Schema):
    seq = fields.Integer()
    kind = fields.String(validate=validate.OneOf(REVISION_KINDS))
    changes = fields.Dict(keys=fields.String(), metadata={"description": "field -> {from, to}"})
    reason = fields.String(allow_none=True)
    by = fields.String(allow_none=True)
    at = UtcDateTime()


class AttainmentScaleSchema(Schema):
    levels = fields.Dict(keys=fields.String(), values=fields.String())
    weight = Number()


class RatingSchema(Schema):
    id = fields.String()
    goal_id = fields.String()
    level = fields.Integer()
    note = fields.String(allow_none=True)
    rated_at = UtcDateTime()
    by = fields.String(allow_none=True)


class AttainmentSchema(Schema):
    scale = fields.Nested(AttainmentScaleSchema)
    latest = fields.Nested(RatingSchema, allow_none=True)


class GoalSchema(Schema):
    id = fields.String()
    client_id = fields.String()
    therapist_id = fields.String(allow_none=True)
    title = fields.String()
    description = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    measure = fields.Nested(MeasureSchema, allow_none=True)
    start_date = Day()
    target_date = Day(allow_none=True)
    parent_goal_id = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    overdue = fields.Boolean(metadata={"description": "open and past its target date"})
    smart = fields.Nested(SmartSchema)
    progress = fields.Nested(ProgressSchema)
    milestones = fields.List(fields.Nested(MilestoneSchema))
    subgoals = fields.List(fields.Nested(SubgoalSchema))
    attainment = fields.Nested(AttainmentSchema, allow_none=True)
    revisions = fields.List(fields.Nested(RevisionSchema))
    created_at = UtcDateTime()
    created_by = fields.String(allow_none=True)
    updated_at = UtcDateTime()


class EntrySchema(Schema):
    id = fields.String()
    goal_id = fields.String()
    value = Number()
    recorded_at = UtcDateTime()
    note = fields.String(allow_none=True)
    source = fields.String(validate=validate.OneOf(SOURCES))
    by = fields.String(allow_none=True)


class ScoredGoalSchema(Schema):
    goal_id = fields.String()
    title = fields.String()
    level = fields.Integer()
    weight = Number()
    rated_at = UtcDateTime()


class ClientAttainmentSchema(Schema):
    client_id = fields.String()
    t_score = fields.Float(allow_none=True, metadata={"description": "Kiresuk-Sherman; 50 when every goal is at its expected level"})
    rho = fields.Float()
    goals = fields.List(fields.Nested(ScoredGoalSchema))


GoalPageSchema = page_of(GoalSchema)
EntryPageSchema = page_of(EntrySchema)
RevisionPageSchema = page_of(RevisionSchema)
RatingPageSchema = page_of(RatingSchema)
