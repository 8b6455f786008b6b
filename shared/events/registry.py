"""Every event type Stepwise raises: who raises it, when, and the shape of its data.

This table is the source of the AsyncAPI document (``shared/asyncapi.py``) and is checked by
``new_event`` when an event is built, so the published contract and the code cannot drift.
Data schemas accept extra fields (``INCLUDE``): subscribers may rely on what is listed here,
and new fields can be added without a new version.
"""
from __future__ import annotations

from dataclasses import dataclass

from marshmallow import INCLUDE, Schema, fields, validate


class EventData(Schema):
    class Meta:
        unknown = INCLUDE
        ordered = True


class Flag(EventData):
    code = fields.String(required=True)
    item = fields.String(required=True)
    value = fields.Raw(required=True)


class GoalCreated(EventData):
    """The goal as stored."""

    id = fields.String(required=True)
    client_id = fields.String(required=True)
    therapist_id = fields.String(allow_none=True)
    title = fields.String(required=True)
    description = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    status = fields.String(required=True)
    measure = fields.Dict(allow_none=True)
    start_date = fields.String(allow_none=True)
    target_date = fields.String(allow_none=True)
    parent_goal_id = fields.String(allow_none=True)
    milestones = fields.List(fields.Dict())
    smart = fields.Dict(metadata={"description": "The SMART assessment, as on the goal."})


class AboutGoal(EventData):
    """What every goal event after creation says about its goal."""

    goal_id = fields.String(required=True)
    client_id = fields.String(required=True)
    therapist_id = fields.String(allow_none=True)
    title = fields.String(metadata={"description": "The goal's title, for an inbox line; not for email."})


class GoalRevised(AboutGoal):
    changes = fields.Dict(required=True, metadata={"description": "Each changed field: {from, to}."})
    reason = fields.String(allow_none=True)


class GoalProgressRecorded(AboutGoal):
    value = fields.Float(required=True)
    percent = fields.Float(allow_none=True)
    source = fields.String(required=True, validate=validate.OneOf(["client", "therapist", "score"]))
    recorded_at = fields.String()


class GoalMilestoneReached(AboutGoal):
    milestone = fields.Dict(required=True)
    value = fields.Float(metadata={"description": "The progress value that passed the milestone."})


class GoalStatusChanged(AboutGoal):
    from_ = fields.String(required=True, data_key="from")
    to = fields.String(required=True)
    reason = fields.String(allow_none=True)


class GoalAchieved(AboutGoal):
    how = fields.String(validate=validate.OneOf(["target_met", "marked"]))


class GoalDueSoon(AboutGoal):
    target_date = fields.String(required=True)


class QuestionnaireAssigned(EventData):
    id = fields.String(required=True)
    client_id = fields.String(required=True)
    instrument = fields.String(required=True)
    every_days = fields.Integer(allow_none=True)
    starts_at = fields.String(required=True)
    ends_at = fields.String(allow_none=True)
    assigned_by = fields.String(allow_none=True)
    therapist_id = fields.String(allow_none=True)


class QuestionnaireDue(EventData):
    assignment_id = fields.String(required=True)
    client_id = fields.String(required=True)
    instrument = fields.String(required=True)
    due_at = fields.String(required=True)
    therapist_id = fields.String(allow_none=True)
    kind = fields.String(validate=validate.OneOf(["due", "overdue"]))
    occurrence = fields.Integer(metadata={"description": "Which occurrence of the schedule, from 0."})
    overdue_at = fields.String(allow_none=True)
    closes_at = fields.String(allow_none=True)


class QuestionnaireScored(EventData):
    response_id = fields.String(required=True)
    client_id = fields.String(required=True)
    instrument = fields.String(required=True)
    score = fields.Dict(required=True)
    change = fields.Dict(required=True)
    therapist_id = fields.String(allow_none=True)
    completed_at = fields.String()
    assignment_id = fields.String(allow_none=True)


class QuestionnaireNotOnTrack(EventData):
    """A follow-up reliably worse than its instrument's expected-recovery rule expects by now
    (a transparent rule from a published decision point, not a validated prediction)."""

    response_id = fields.String(required=True)
    client_id = fields.String(required=True)
    instrument = fields.String(required=True)
    therapist_id = fields.String(allow_none=True)
    completed_at = fields.String(required=True)
    total = fields.Float(required=True)
    baseline_response_id = fields.String(required=True)
    baseline_total = fields.Float(required=True)
    weeks_since_baseline = fields.Float(
        required=True, metadata={"description": "From the baseline's completion to this one's."})
    expected_total = fields.Float(required=True, metadata={"description": "The score the rule expects by now."})
    worse_than_expected_by = fields.Float(
        required=True, metadata={"description": "How far the total is on the worse side of the expected score."})
    reliable_change_threshold = fields.Float(
        required=True,
        metadata={"description": "The instrument's reliable change value; worse_than_expected_by is at least this."})


class RiskFlagged(EventData):
    response_id = fields.String(required=True)
    client_id = fields.String(required=True)
    instrument = fields.String(required=True)
    flags = fields.List(fields.Nested(Flag), required=True, validate=validate.Length(min=1))
    therapist_id = fields.String(allow_none=True)
    completed_at = fields.String()
    total = fields.Float(allow_none=True)
    severity = fields.String(allow_none=True)


class InstrumentDefined(EventData):
    """A clinic's own instrument, as other services need it (never its items or answers)."""

    code = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.String(allow_none=True)
    score_range = fields.List(fields.Float(), required=True, validate=validate.Length(equal=2),
                              metadata={"description": "The lowest and highest total score: [low, high]."})


class ClientErasureRequested(EventData):
    erasure_id = fields.String(required=True)
    client_id = fields.String(required=True)
    requested_by = fields.String(required=True)


class ClientErased(EventData):
    erasure_id = fields.String(required=True)
    client_id = fields.String(required=True)
    service = fields.String(required=True, metadata={"description": "the service that erased its part"})
    records_deleted = fields.Integer(required=True)
    erased_at = fields.String(required=True)


class NotificationDelivery(EventData):
    notification_id = fields.String(required=True)
    channel = fields.String(required=True)
    recipient_id = fields.String(required=True)
    client_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    event_id = fields.String(allow_none=True, metadata={"description": "The event the notification answered."})


# The services that raise events; an event every one of them raises (a client's erasure) names
# ANY_SERVICE, and each raiser gives its own name for the event's ``source``.
SERVICES = ("goals", "questionnaires", "notifications")
ANY_SERVICE = "any"


@dataclass(frozen=True)
class EventSpec:
    name: str
    service: str
    summary: str
    data_schema: type[Schema]


def _spec(name: str, service: str, summary: str, schema: type[Schema]) -> tuple[str, EventSpec]:
    return name, EventSpec(name, service, summary, schema)


REGISTRY: dict[str, EventSpec] = dict(
    [
        _spec("goal.created", "goals", "A goal is stored.", GoalCreated),
        _spec("goal.revised", "goals", "A goal is changed; `changes` maps each field to from/to.", GoalRevised),
        _spec("goal.progress_recorded", "goals", "Progress is logged, by hand or from a score.", GoalProgressRecorded),
        _spec("goal.milestone_reached", "goals", "A milestone is passed by progress.", GoalMilestoneReached),
        _spec("goal.status_changed", "goals", "A goal's status changes.", GoalStatusChanged),
        _spec("goal.achieved", "goals", "A goal's target is met, or it is marked achieved.", GoalAchieved),
        _spec("goal.due_soon", "goals", "An open goal's target date is near (raised once per goal).", GoalDueSoon),
        _spec("questionnaire.assigned", "questionnaires", "An instrument is assigned to a client.", QuestionnaireAssigned),
        _spec("questionnaire.due", "questionnaires", "An assignment's occurrence falls due (once each).", QuestionnaireDue),
        _spec("questionnaire.scored", "questionnaires", "A response is scored, with its change.", QuestionnaireScored),
        _spec("questionnaire.not_on_track", "questionnaires",
              "A follow-up score is reliably worse than expected by now (one per response).", QuestionnaireNotOnTrack),
        _spec("risk.flagged", "questionnaires", "A scored answer signals risk; raised at once.", RiskFlagged),
        _spec("instrument.defined", "questionnaires", "A clinic adds an instrument of its own (once per code).",
              InstrumentDefined),
        _spec("client.erasure_requested", ANY_SERVICE, "An admin asks that a client be erased in every service.",
              ClientErasureRequested),
        _spec("client.erased", ANY_SERVICE, "A service has erased a client's records (one event per service).",
              ClientErased),
        _spec("notification.delivered", "notifications", "A notification reached its channel.", NotificationDelivery),
        _spec("notification.failed", "notifications", "A notification could not be delivered.", NotificationDelivery),
    ]
)


def undeclared_fields(name: str, data: dict) -> set[str]:
    """Fields of an event's data that its registry schema (and so the AsyncAPI document) omits."""
    declared = {field.data_key or key for key, field in REGISTRY[name].data_schema().fields.items()}
    return set(data) - declared
