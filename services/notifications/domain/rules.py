"""Which event tells whom what.

The routing is a table (``RULES``): one row per event name saying the notification type, its
priority, who receives it, which template renders it and what of the event the template shows
(``shows``: fields read as the registry defines them, ``shared/events/registry.py``; a row naming
a field the registry does not define fails at import). Adding a notification is adding a row
(and its inbox template).

The events reaching the rules were checked against the registry by the consumer
(``shared.events.consumer``): every field the registry requires is there, with its type.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.events.envelope import routing_key
from shared.events.registry import REGISTRY

URGENT = "urgent"
NORMAL = "normal"

CLIENT = "client"
THERAPIST = "therapist"
ADMIN = "admin"

# Audiences a rule can name.
TO_CLIENT = "client"
# The clinicians of the client's care team; nobody when it has none (the client is told anyway).
TO_CARE_TEAM = "care_team"
# The clinicians of the care team, or the tenant's admins when it has none: for what a clinician
# must see.
TO_CLINICIANS = "clinicians"

# Why something a clinician must see went to the admins instead (``Routing.reason``).
NO_CARE_TEAM = "no_care_team"
NO_CLINICIAN_ON_CARE_TEAM = "no_clinician_on_care_team"


@dataclass(frozen=True)
class Intent:
    """One notification to one person, before channels, quiet hours and rendering.

    ``context`` holds only what the templates need (JSON-serialisable), so the worker can store
    the intent as it is. ``event_id`` and ``recipient_id`` together identify it: a redelivered
    event yields the same intents, which is what makes the worker's idempotency key.
    ``creates_alert`` marks the intents that belong to an alert record (see ``escalation``).
    """

    type: str
    priority: str
    recipient_id: str
    recipient_role: str
    client_id: str
    tenant_id: str
    event_id: str
    template: str
    context: dict[str, Any]
    creates_alert: bool = False


def _always(data: dict[str, Any]) -> bool:
    return True


def _nothing(data: dict[str, Any]) -> dict[str, Any]:
    return {}


def _shows(*paths: str, **renamed: str) -> dict[str, str]:
    """What a template shows: context names and the dotted paths of the event's data they take,
    each path under its own name unless renamed (``goal_title="title"``)."""
    return {**{path: path for path in paths}, **renamed}


@dataclass(frozen=True)
class Rule:
    """A row of the routing table; ``applies`` filters events of the right type by their data,
    and ``only_when`` names the audiences told only when their own test of the data holds.

    ``shows`` maps each name of the context an intent carries to a dotted path of the event's
    data, read as the registry defines it (``EventSpec.pick``); ``derives`` adds what a template
    needs computed from the data rather than copied (never a field of its own).
    """

    type: str
    priority: str
    template: str
    audiences: tuple[str, ...]
    shows: dict[str, str]
    derives: Callable[[dict[str, Any]], dict[str, Any]] = _nothing
    applies: Callable[[dict[str, Any]], bool] = _always
    creates_alert: bool = False
    only_when: Mapping[str, Callable[[dict[str, Any]], bool]] = field(default_factory=dict)

    def reaches(self, audience: str, data: dict[str, Any]) -> bool:
        return self.only_when.get(audience, _always)(data)


def _overdue(data: dict[str, Any]) -> bool:
    return data.get("kind") == "overdue"


def _deteriorated(data: dict[str, Any]) -> bool:
    return data["change"].get("reliable_change") == "deteriorated"


RULES: dict[str, Rule] = {
    "risk.flagged": Rule(
        "risk_alert", URGENT, "risk_alert", (TO_CLINICIANS,), _shows("instrument", "response_id", "flags"),
        creates_alert=True,
    ),
    # An overdue check-in is also the care team's to follow up; one merely due is the client's.
    "questionnaire.due": Rule(
        "reminder", NORMAL, "questionnaire_due", (TO_CLIENT, TO_CARE_TEAM),
        _shows("instrument", "assignment_id", "due_at"), derives=lambda data: {"overdue": _overdue(data)},
        only_when={TO_CARE_TEAM: _overdue},
    ),
    "goal.due_soon": Rule(
        "reminder", NORMAL, "goal_due_soon", (TO_CLIENT,), _shows("goal_id", "target_date", goal_title="title")
    ),
    "goal.milestone_reached": Rule(
        "milestone", NORMAL, "milestone", (TO_CLIENT, TO_CARE_TEAM),
        _shows("goal_id", goal_title="title", milestone="milestone.title"),
    ),
    "goal.achieved": Rule(
        "goal_achieved", NORMAL, "goal_achieved", (TO_CLIENT, TO_CARE_TEAM), _shows("goal_id", goal_title="title")
    ),
    # A deterioration nobody reads is a safety gap, so without a care team it goes to the admins.
    "questionnaire.scored": Rule(
        "deterioration",
        NORMAL,
        "deterioration",
        (TO_CLINICIANS,),
        _shows("instrument", "response_id", total="score.total", severity="score.severity",
               baseline_total="change.baseline_total", previous_total="change.previous_total"),
        applies=_deteriorated,
    ),
    # For the care team to review the plan, never for the client: a rule's verdict on someone's
    # progress is a clinician's to interpret and to talk through.
    "questionnaire.not_on_track": Rule(
        "not_on_track", NORMAL, "not_on_track", (TO_CARE_TEAM,),
        _shows("instrument", "response_id", "total", "expected_total", "baseline_total", "weeks_since_baseline"),
    ),
}

# Where each kind of event names the clinician responsible for the client: every goal event its
# goal's ``therapist_id``.
_THERAPIST_FIELDS: dict[str, tuple[str, ...]] = {
    **{name: ("therapist_id",) for name in REGISTRY if name.startswith("goal.")},
    "questionnaire.assigned": ("assigned_by", "therapist_id"),
    "risk.flagged": ("therapist_id",),
    "questionnaire.scored": ("therapist_id",),
    "questionnaire.not_on_track": ("therapist_id",),
}

# A row that reads a field the registry does not define would read None for ever: fail at import.
for _name, _rule in RULES.items():
    REGISTRY[_name].require(_rule.shows.values())
for _name, _fields in _THERAPIST_FIELDS.items():
    REGISTRY[_name].require(_fields)


def context_for(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """What the templates of event ``name``'s rule show of its data (JSON-serialisable)."""
    rule = RULES[name]
    return {**REGISTRY[name].pick(data, rule.shows), **rule.derives(data)}



def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in ids if isinstance(i, str) and i))


@dataclass(frozen=True)
class Routing:
    """Who of a client's care team may be told: ``clinicians``, those on the tenant's clinician
    roster; ``not_clinicians``, the rest (never told). ``reason`` says why there is no clinician
    (``NO_CARE_TEAM``, ``NO_CLINICIAN_ON_CARE_TEAM``), None when there is one."""

    clinicians: tuple[str, ...]
    not_clinicians: tuple[str, ...]

    @property
    def reason(self) -> str | None:
        if self.clinicians:
            return None
        return NO_CLINICIAN_ON_CARE_TEAM if self.not_clinicians else NO_CARE_TEAM


def route(care_team: list[str], roster: set[str] | frozenset[str]) -> Routing:
    """Split a care team (as stored, plus what an event names) by the clinician roster.

    Only a clinician, someone the tenant's admins put on the roster, is ever told about a client:
    an id an event names may be a service or admin account, or even a client, and an alert
    addressed to it would look delivered while no clinician saw it.
    """
    team = _unique(list(care_team))
    return Routing(tuple(t for t in team if t in roster), tuple(t for t in team if t not in roster))


def care_team_additions(event: dict[str, Any]) -> list[str]:
    """The ids an event names as its client's clinician: ``questionnaire.assigned`` its author
    (``assigned_by``) and ``therapist_id``; goal events, ``risk.flagged``,
    ``questionnaire.scored`` and ``questionnaire.not_on_track`` their ``therapist_id`` when they
    know it. The client's own id is never one. Whoever is named joins the care team only if on the
    clinician roster (``route``): the author of an assignment may be an admin or a service
    account, and ``therapist_id`` is whatever id the writer gave.
    """
    data = event["data"]
    named = [data.get(name) for name in _THERAPIST_FIELDS.get(routing_key(event), ())]
    return [t for t in _unique(named) if t != data["client_id"]]


def _recipients(
    audience: str, client_id: str, routing: Routing, admins: list[str]
) -> list[tuple[str, str]]:
    if audience == TO_CLIENT:
        return [(client_id, CLIENT)]
    therapists = [(t, THERAPIST) for t in routing.clinicians]
    if audience == TO_CLINICIANS and not therapists:
        return [(a, ADMIN) for a in admins]
    return therapists


def routing_for(event: dict[str, Any], care_team: list[str], roster: set[str] | frozenset[str]) -> Routing:
    """The routing of an event's client: its stored care team with the event's own
    ``care_team_additions`` merged in (so a risk flag naming its clinician reaches them even
    before the care team is stored), split by the roster."""
    return route(list(care_team) + care_team_additions(event), roster)


def intents_for(
    event: dict[str, Any], care_team: list[str], admins: list[str], roster: set[str] | frozenset[str]
) -> list[Intent]:
    """The notifications an event calls for, one per recipient; ``[]`` when it calls for none.

    ``care_team`` is the client's stored care team, ``admins`` the tenant's admins and ``roster``
    its clinicians: only clinicians of the care team are told (``routing_for``). What a clinician
    must see goes to the admins when there is none, and their notification says why
    (``routing_reason`` in its context). Each person is told once per event.
    """
    name = routing_key(event)
    rule = RULES.get(name)
    data = event["data"]
    if rule is None or not rule.applies(data):
        return []
    event_id, tenant_id, client_id = event["id"], event["tenantid"], data["client_id"]
    routing = routing_for(event, care_team, roster)
    context = context_for(name, data)

    intents: list[Intent] = []
    told: set[str] = set()
    for audience in rule.audiences:
        if not rule.reaches(audience, data):
            continue
        for recipient_id, role in _recipients(audience, client_id, routing, _unique(list(admins))):
            if recipient_id in told:
                continue
            told.add(recipient_id)
            intents.append(
                Intent(
                    type=rule.type,
                    priority=rule.priority,
                    recipient_id=recipient_id,
                    recipient_role=role,
                    client_id=client_id,
                    tenant_id=tenant_id,
                    event_id=event_id,
                    template=rule.template,
                    context={**context, "routing_reason": routing.reason} if role == ADMIN else dict(context),
                    creates_alert=rule.creates_alert,
                )
            )
    return intents
