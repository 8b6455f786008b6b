"""Who is told: ``/v1/care-teams/{client_id}`` (a client's therapists) and ``/v1/tenant/admins``
(the clinic's admins, who receive what no care team covers and every escalated risk alert)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.notifications.adapters.memberships import ADMINS, CARE_TEAM, Memberships
from services.notifications.api.common import ADMINISTRATORS, database, now
from shared.api import problems
from shared.auth import STAFF, check_client_access, current_principal, requires
from shared.schemas import Id

MAX_MEMBERS = 50

care_teams = Blueprint("care_teams", __name__, url_prefix="/v1/care-teams",
                       description="The therapists told about a client.")
admins = Blueprint("admins", __name__, url_prefix="/v1/tenant", description="The clinic's admins.")


def _ids(description: str) -> fields.List:
    return fields.List(
        Id(),
        required=True,
        validate=validate.Length(max=MAX_MEMBERS),
        metadata={"description": description},
    )


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class CareTeamBodySchema(Schema):
    therapist_ids = _ids("the whole care team; events that name a therapist add to it")


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
    members = Memberships(database(), principal.scope).replace(CARE_TEAM, client_id, therapist_ids, now(), principal.sub)
    return {"client_id": client_id, "therapist_ids": members}


@care_teams.route("/<client_id>")
@requires()
@care_teams.response(200, CareTeamSchema)
@problems(care_teams, 401, 403)
def get_care_team(client_id: str):
    """A client's care team (a client may read its own)."""
    principal = current_principal()
    check_client_access(principal, client_id)
    return {"client_id": client_id, "therapist_ids": Memberships(database(), principal.scope).members(CARE_TEAM, client_id)}


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
