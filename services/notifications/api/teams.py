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

from services.notifications.actions import ADMINISTRATORS
from services.notifications.api.common import caller_clinic
from services.notifications.api.schemas import (
    AdminsBodySchema, AdminsSchema, CareTeamBodySchema, CareTeamSchema, CliniciansBodySchema, CliniciansSchema,
)
from shared.api import problems
from shared.auth import STAFF, check_client_access, current_principal, requires

care_teams = Blueprint("care_teams", __name__, url_prefix="/v1/care-teams",
                       description="The therapists told about a client.")
admins = Blueprint("admins", __name__, url_prefix="/v1/tenant",
                   description="The clinic's admins and its clinician roster.")


@care_teams.route("/<client_id>", methods=["PUT"])
@requires(*STAFF)
@care_teams.arguments(CareTeamBodySchema)
@care_teams.response(200, CareTeamSchema)
@problems(care_teams, 400, 401, 403, 413, 415, 422)
def put_care_team(body, client_id: str):
    """Replace a client's care team."""
    therapist_ids = caller_clinic().put_care_team(client_id, body["therapist_ids"])
    return {"client_id": client_id, "therapist_ids": therapist_ids}


@care_teams.route("/<client_id>")
@requires()
@care_teams.response(200, CareTeamSchema)
@problems(care_teams, 401, 403)
def get_care_team(client_id: str):
    """A client's care team: its members on the clinician roster (a client may read its own)."""
    check_client_access(current_principal(), client_id)
    return {"client_id": client_id, "therapist_ids": caller_clinic().care_team(client_id)}


@admins.route("/admins", methods=["PUT"])
@requires("admin")
@admins.arguments(AdminsBodySchema)
@admins.response(200, AdminsSchema)
@problems(admins, 400, 401, 403, 413, 415, 422)
def put_admins(body):
    """Replace the tenant's admins."""
    return {"admin_ids": caller_clinic().put_admins(body["admin_ids"])}


@admins.route("/admins")
@requires(*ADMINISTRATORS)
@admins.response(200, AdminsSchema)
@problems(admins, 401, 403)
def get_admins():
    """The tenant's admins."""
    return {"admin_ids": caller_clinic().admins()}


@admins.route("/clinicians", methods=["PUT"])
@requires("admin")
@admins.arguments(CliniciansBodySchema)
@admins.response(200, CliniciansSchema)
@problems(admins, 400, 401, 403, 413, 415, 422)
def put_clinicians(body):
    """Replace the tenant's clinician roster: the only people care teams may hold and risk
    alerts may go to. A client of the tenant (someone with a care team) is refused."""
    return {"clinician_ids": caller_clinic().put_clinicians(body["clinician_ids"])}


@admins.route("/clinicians")
@requires(*ADMINISTRATORS)
@admins.response(200, CliniciansSchema)
@problems(admins, 401, 403)
def get_clinicians():
    """The tenant's clinician roster."""
    return {"clinician_ids": caller_clinic().clinicians()}
