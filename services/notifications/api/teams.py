"""Who is told: ``/v1/tenant/clinicians`` (the clinic's clinicians, the only people ever on a
care team), ``/v1/care-teams/{client_id}`` (a client's clinicians) and ``/v1/tenant/admins``
(the clinic's admins, who receive what no clinician of a care team covers and every escalated
risk alert).

The services share no user directory, and an id an event or a request names may belong to
anyone (a service account, an admin, a client). So the tenant's admins name its clinicians, and
only they can be on a care team: a care team naming anyone else is refused (422), and a care
team shows, and tells, only its members who are on the roster now."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.notifications.adapters.memberships import ADMINS, CARE_TEAM, CLINICIANS, Memberships
from services.notifications.api.common import ADMINISTRATORS, database, now
from shared.api import problems
from shared.auth import STAFF, check_client_access, current_principal, requires
from shared.errors import invalid
from shared.schemas import Id

MAX_MEMBERS = 50
MAX_CLINICIANS = 1000

care_teams = Blueprint("care_teams", __name__, url_prefix="/v1/care-teams",
                       description="The therapists told about a client.")
admins = Blueprint("admins", __name__, url_prefix="/v1/tenant",
                   description="The clinic's admins and its clinician roster.")


def _ids(description: str, most: int = MAX_MEMBERS) -> fields.List:
    return fields.List(
        Id(),
        required=True,
        validate=validate.Length(max=most),
        metadata={"description": description},
    )


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class CareTeamBodySchema(Schema):
    therapist_ids = _ids("the whole care team, each on the clinician roster; events that name a clinician add to it")


class CareTeamSchema(Schema):
    client_id = fields.String()
    therapist_ids = fields.List(fields.String())


class AdminsBodySchema(Schema):
    admin_ids = _ids("every admin of the tenant")

    @validates_schema
    def _not_empty_of_people(self, data, **kwargs):
        if not data.get("admin_ids"):
            raise ValidationError("name at least one admin: escalated risk alerts go to them", "admin_ids")


class AdminsSchema(Schema):
    admin_ids = fields.List(fields.String())


class CliniciansBodySchema(Schema):
    clinician_ids = _ids("every clinician (therapist) of the tenant; may be empty", MAX_CLINICIANS)


class CliniciansSchema(Schema):
    clinician_ids = fields.List(fields.String())


def _refuse(field_name: str, ids: list[str], refused: dict[str, str]) -> None:
    """A 422 naming each refused id's place in the list (``therapist_ids.2``)."""
    errors = {f"{field_name}.{n}": [refused[i]] for n, i in enumerate(ids) if i in refused}
    if errors:
        raise invalid(errors)


@care_teams.route("/<client_id>", methods=["PUT"])
@requires(*STAFF)
@care_teams.arguments(CareTeamBodySchema)
@care_teams.response(200, CareTeamSchema)
@problems(care_teams, 400, 401, 403, 413, 415, 422)
def put_care_team(body, client_id: str):
    """Replace a client's care team."""
    principal = current_principal()
    therapist_ids = _unique(body["therapist_ids"])
    if client_id in therapist_ids:
        raise ValidationError({"therapist_ids": ["a client is not on their own care team"]})
    teams = Memberships(database(), principal.scope)
    roster = teams.roster()
    _refuse("therapist_ids", body["therapist_ids"], {
        i: "not on the tenant's clinician roster (PUT /v1/tenant/clinicians): only clinicians are on a care team"
        for i in therapist_ids if i not in roster
    })
    members = teams.replace(CARE_TEAM, client_id, therapist_ids, now(), principal.sub)
    return {"client_id": client_id, "therapist_ids": [m for m in members if m in roster]}


@care_teams.route("/<client_id>")
@requires()
@care_teams.response(200, CareTeamSchema)
@problems(care_teams, 401, 403)
def get_care_team(client_id: str):
    """A client's care team: its members on the clinician roster (a client may read its own)."""
    principal = current_principal()
    check_client_access(principal, client_id)
    teams = Memberships(database(), principal.scope)
    roster = teams.roster()
    return {"client_id": client_id, "therapist_ids": [m for m in teams.members(CARE_TEAM, client_id) if m in roster]}


@admins.route("/admins", methods=["PUT"])
@requires("admin")
@admins.arguments(AdminsBodySchema)
@admins.response(200, AdminsSchema)
@problems(admins, 400, 401, 403, 413, 415, 422)
def put_admins(body):
    """Replace the tenant's admins."""
    principal = current_principal()
    members = Memberships(database(), principal.scope).replace(ADMINS, None, _unique(body["admin_ids"]), now(), principal.sub)
    return {"admin_ids": members}


@admins.route("/admins")
@requires(*ADMINISTRATORS)
@admins.response(200, AdminsSchema)
@problems(admins, 401, 403)
def get_admins():
    """The tenant's admins."""
    return {"admin_ids": Memberships(database(), current_principal().scope).members(ADMINS)}


@admins.route("/clinicians", methods=["PUT"])
@requires("admin")
@admins.arguments(CliniciansBodySchema)
@admins.response(200, CliniciansSchema)
@problems(admins, 400, 401, 403, 413, 415, 422)
def put_clinicians(body):
    """Replace the tenant's clinician roster: the only people care teams may hold and risk
    alerts may go to. A client of the tenant (someone with a care team) is refused."""
    principal = current_principal()
    teams = Memberships(database(), principal.scope)
    clinician_ids = _unique(body["clinician_ids"])
    roster = teams.roster()
    _refuse("clinician_ids", body["clinician_ids"], {
        i: "is a client of this tenant (it has a care team), not a clinician"
        for i in clinician_ids if i not in roster and teams.members(CARE_TEAM, i)
    })
    return {"clinician_ids": teams.replace(CLINICIANS, None, clinician_ids, now(), principal.sub)}


@admins.route("/clinicians")
@requires(*ADMINISTRATORS)
@admins.response(200, CliniciansSchema)
@problems(admins, 401, 403)
def get_clinicians():
    """The tenant's clinician roster."""
    return {"clinician_ids": Memberships(database(), current_principal().scope).members(CLINICIANS)}
