"""Routes for assignments: ask a client for an instrument once or every few days, see what is due."""
from __future__ import annotations

from flask_smorest import Blueprint

from services.questionnaires.api.common import caller, client_named
from shared.api import READ_PROBLEMS, WRITE_PROBLEMS, problems, replayable, replayed
from services.questionnaires.api.schemas import (
    AssignmentInSchema, AssignmentListQuery, AssignmentPageSchema, AssignmentViewSchema, CancelInSchema,
)
from shared.auth import check_client_access, current_principal, requires
from shared.errors import Problem

blp = Blueprint("assignments", __name__, url_prefix="/v1", description="Assignments, their occurrences and reminders.")

ASSIGN_ROUTE = "POST /v1/assignments"


@blp.post("/assignments")
@replayable(blp)
@requires()
@blp.arguments(AssignmentInSchema)
@blp.response(201, AssignmentViewSchema)
@problems(blp, *WRITE_PROBLEMS, 409)
def create_assignment(data):
    """Assign an instrument to a client: 201 with its schedule state; once per Idempotency-Key."""
    principal = current_principal()
    body = {**data, "client_id": client_named(data)}
    if principal.is_client and data.get("therapist_id") is not None:
        raise Problem(403, "A client may not choose the therapist of an assignment")
    if principal.role == "therapist" and body.get("therapist_id") is None:
        body["therapist_id"] = principal.sub
    questionnaires = caller()
    assignment, created = questionnaires.assign(body, ASSIGN_ROUTE)
    return questionnaires.assignment_views([assignment])[0], 201, replayed(created)


@blp.get("/assignments")
@requires()
@blp.arguments(AssignmentListQuery, location="query")
@blp.response(200, AssignmentPageSchema)
@problems(blp, *READ_PROBLEMS)
def list_assignments(query):
    """Assignments, newest first, each with its occurrence open now and when it is next due."""
    filters = {name: query[name] for name in ("client_id", "instrument") if query.get(name)}
    if "client_id" in filters:
        check_client_access(current_principal(), filters["client_id"])
    questionnaires = caller()
    found, next_cursor = questionnaires.assignments.page(filters, limit=query["limit"], cursor=query["cursor"])
    return {"items": questionnaires.assignment_views(found), "next_cursor": next_cursor}


@blp.get("/assignments/<assignment_id>")
@requires()
@blp.response(200, AssignmentViewSchema)
@problems(blp, 401, 404)
def get_assignment(assignment_id):
    """One assignment with its status, the occurrence open now and when it is next due."""
    questionnaires = caller()
    return questionnaires.assignment_views([questionnaires.assignment(assignment_id)])[0]


@blp.post("/assignments/<assignment_id>/cancel")
@requires()
@blp.arguments(CancelInSchema)
@blp.response(200, AssignmentViewSchema)
@problems(blp, *WRITE_PROBLEMS, 404)
def cancel_assignment(data, assignment_id):
    """Cancel an assignment: nothing more is asked or reminded. Staff, or a client who assigned
    it to themselves; cancelling again changes nothing."""
    questionnaires = caller()
    assignment = questionnaires.assignment(assignment_id)
    principal = current_principal()
    if principal.is_client and assignment["assigned_by"] != principal.sub:
        raise Problem(403, "Only staff may cancel an assignment a therapist made")
    questionnaires.cancel(assignment, data.get("reason"))
    return questionnaires.assignment_views([assignment])[0]
