"""Every event type Stepwise raises: who raises it, when, and the shape of its data.

Each event type is defined here once. The table is the source of the AsyncAPI document
(``shared/asyncapi.py``); ``new_event`` refuses to build an event whose data it does not
describe, and the consumer dead-letters one whose data it does not accept (``parse_event``), so a
handler reads the fields listed here without checking them again; the notification rules take
what they show from it (``EventSpec.pick``, paths checked by ``EventSpec.require``). So the
published contract, the raisers and the readers cannot drift.
Data schemas accept extra fields on reading (``INCLUDE``): subscribers may rely on what is listed
here, and new fields can be added without a new version.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from marshmallow import INCLUDE, Schema, fields, missing, validate

from shared.clock import parse_rfc3339


class EventData(Schema):
    class Meta:
        unknown = INCLUDE
        ordered = True


class Time(fields.String):
    """An RFC 3339 time, as ``shared.clock.rfc3339`` writes it; a reader parses it with
    ``shared.clock.parse_rfc3339``."""

    default_error_messages = {"not_a_time": "Not an RFC 3339 time."}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.metadata = {"format": "date-time", **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parse_rfc3339(text)
        except ValueError:
            raise self.make_error("not_a_time") from None
        return text


class Number(fields.Float):
    """A JSON number; unlike ``fields.Float``, never a numeral in a string ("17")."""

    default_error_messages = {"not_a_number": "Not a JSON number."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            raise self.make_error("not_a_number")
        return super()._deserialize(value, attr, data, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        # A number is passed on as it came: a whole total stays 17, never becomes 17.0.
        return value


class Flag(EventData):
    code = fields.String(required=True)
    item = fields.String(required=True)
    value = fields.Raw(required=True)


class Milestone(EventData):
    """A milestone of a goal, as the goal shows it."""

    id = fields.String(required=True)
    title = fields.String(required=True)
    value = Number(allow_none=True)
    percent = Number(allow_none=True)
    due_date = fields.String(allow_none=True)


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
    milestones = fields.List(fields.Nested(Milestone))
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
    value = Number(required=True)
    percent = Number(allow_none=True)
    source = fields.String(required=True, validate=validate.OneOf(["client", "therapist", "score"]))
    recorded_at = Time()


class GoalMilestoneReached(AboutGoal):
    milestone = fields.Nested(Milestone, required=True)
    value = Number(metadata={"description": "The progress value that passed the milestone."})


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
    every_days = fields.Integer(strict=True, allow_none=True)
    starts_at = Time(required=True)
    ends_at = Time(allow_none=True)
    assigned_by = fields.String(allow_none=True)
    therapist_id = fields.String(allow_none=True)


class QuestionnaireDue(EventData):
    assignment_id = fields.String(required=True)
    client_id = fields.String(required=True)
    instrument = fields.String(required=True)
    due_at = Time(required=True)
    therapist_id = fields.String(allow_none=True)
    kind = fields.String(validate=validate.OneOf(["due", "overdue"]))
    occurrence = fields.Integer(strict=True, metadata={"description": "Which occurrence of the schedule, from 0."})
    overdue_at = Time(allow_none=True)
    closes_at = Time(allow_none=True)


class Score(EventData):
    """The scored response, as the response shows it; what subscribers read of it is listed."""

    total = Number(required=True)
    severity = fields.String(allow_none=True)
    flags = fields.List(fields.Nested(Flag))


class Change(EventData):
    """The change against the client's baseline and previous score; what subscribers read is listed."""

    baseline_total = Number(allow_none=True)
    previous_total = Number(allow_none=True)
    reliable_change = fields.String(allow_none=True, validate=validate.OneOf(["improved", "deteriorated", "none"]))


class QuestionnaireScored(EventData):
    response_id = fields.String(required=True)
    client_id = fields.String(required=True)
    instrument = fields.String(required=True)
    score = fields.Nested(Score, required=True)
    change = fields.Nested(Change, required=True)
    therapist_id = fields.String(allow_none=True)
    completed_at = Time()
    assignment_id = fields.String(allow_none=True)


class QuestionnaireNotOnTrack(EventData):
    """A follow-up reliably worse than its instrument's expected-recovery rule expects by now
    (a transparent rule from a published decision point, not a validated prediction)."""

    response_id = fields.String(required=True)
    client_id = fields.String(required=True)
    instrument = fields.String(required=True)
    therapist_id = fields.String(allow_none=True)
    completed_at = Time(required=True)
    total = Number(required=True)
    baseline_response_id = fields.String(required=True)
    baseline_total = Number(required=True)
    weeks_since_baseline = Number(
        required=True, metadata={"description": "From the baseline's completion to this one's."})
    expected_total = Number(required=True, metadata={"description": "The score the rule expects by now."})
    worse_than_expected_by = Number(
        required=True, metadata={"description": "How far the total is on the worse side of the expected score."})
    reliable_change_threshold = Number(
        required=True,
        metadata={"description": "The instrument's reliable change value; worse_than_expected_by is at least this."})


class RiskFlagged(EventData):
    response_id = fields.String(required=True)
    client_id = fields.String(required=True)
    instrument = fields.String(required=True)
    flags = fields.List(fields.Nested(Flag), required=True, validate=validate.Length(min=1))
    therapist_id = fields.String(allow_none=True)
    completed_at = Time()
    total = Number(allow_none=True)
    severity = fields.String(allow_none=True)


class InstrumentDefined(EventData):
    """A clinic's own instrument, as other services need it (never its items or answers)."""

    code = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.String(allow_none=True)
    score_range = fields.List(Number(), required=True, validate=validate.Length(equal=2),
                              metadata={"description": "The lowest and highest total score: [low, high]."})


class ClientErasureRequested(EventData):
    erasure_id = fields.String(required=True)
    client_id = fields.String(required=True)
    requested_by = fields.String(required=True)


class ClientErased(EventData):
    erasure_id = fields.String(required=True)
    client_id = fields.String(required=True)
    service = fields.String(required=True, metadata={"description": "the service that erased its part"})
    records_deleted = fields.Integer(strict=True, required=True)
    erased_at = Time(required=True)


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

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields of the event's data, as they are named on the wire."""
        return tuple(field.data_key or name for name, field in self.data_schema().fields.items())

    def problems(self, data: Any) -> dict[str, Any]:
        """What is wrong with ``data`` as this event's data (marshmallow's messages by field; they
        name what was expected, never the value given); ``{}`` when nothing is."""
        if not isinstance(data, Mapping):
            return {"data": ["Not an object."]}
        return self.data_schema().validate(dict(data))

    def build(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The event's data as a raiser gives it: every required field and no field this event does
        not define (a field the contract omits would reach subscribers undocumented)."""
        problems = self.problems(data)
        problems.update({name: ["Not a field of this event."] for name in sorted(set(data) - set(self.fields))})
        if problems:
            raise ValueError(f"{self.name} data does not match its definition: {problems}")
        return dict(data)

    def pick(self, data: Mapping[str, Any], paths: Mapping[str, str]) -> dict[str, Any]:
        """``paths`` maps names to dotted paths of the event's data (``"score.total"``): each name
        with the value at its path in (valid) ``data``, as this event defines it. An absent value
        is None; an object keeps only the fields defined for it."""
        return {name: self._value(data, path) for name, path in paths.items()}

    def require(self, paths: Iterable[str]) -> None:
        """Raise ``KeyError`` unless this event defines every dotted path of ``paths``."""
        for path in paths:
            self._field(path)

    def _field(self, path: str) -> fields.Field:
        schema: Schema = self.data_schema()
        *parents, leaf = path.split(".")
        for name in parents:
            parent = schema.fields.get(name)
            if not isinstance(parent, fields.Nested):
                raise KeyError(f"{self.name} defines no object {name!r} (in {path!r}); see shared/events/registry.py")
            schema = parent.schema
        if leaf not in schema.fields:
            raise KeyError(f"{self.name} defines no field {path!r}; see shared/events/registry.py")
        return schema.fields[leaf]

    def _value(self, data: Mapping[str, Any], path: str) -> Any:
        *parents, leaf = path.split(".")
        for name in parents:
            data = data.get(name) or {}
        value = self._field(path).serialize(leaf, data)
        return None if value is missing else value


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
    return set(data) - set(REGISTRY[name].fields)
