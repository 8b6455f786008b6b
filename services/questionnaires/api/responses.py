"""Routes for responses: submit (scored at once, with change from baseline), read, list."""
from __future__ import annotations

from flask_smorest import Blueprint

from services.questionnaires.api.common import caller, client_named
from shared.api import READ_PROBLEMS, WRITE_PROBLEMS, problems, replayable, replayed
from services.questionnaires.api.schemas import ResponseInSchema, ResponseListQuery, ResponsePageSchema, ScoredResponseSchema
from services.questionnaires.views import response_view
from shared.auth import check_client_access, current_principal, requires
from shared.errors import Problem

blp = Blueprint("responses", __name__, url_prefix="/v1", description="Scored responses, their flags and change.")

SUBMIT_ROUTE = "POST /v1/responses"
# Reliable change is measured from the baseline: a client who could reset its own would hide a
# deterioration from its therapist. Only clinical staff set one.
BASELINE_ROLES = ("therapist", "admin")


@blp.post("/responses")
@replayable(blp)
@requires()
@blp.arguments(ResponseInSchema)
@blp.response(201, ScoredResponseSchema)
@problems(blp, *WRITE_PROBLEMS, 409)
def submit_response(data):
    """Score a response: 201 with its score, flags and change; once per Idempotency-Key.

    Only a therapist or an admin may mark it as the client's baseline (403 naming ``baseline``).
    """
    if data["baseline"] and current_principal().role not in BASELINE_ROLES:
        raise Problem(403, "Only a therapist or an admin may mark a baseline",
                      errors={"baseline": [f"set by {' or '.join(BASELINE_ROLES)} only"]})
    body = {**data, "client_id": client_named(data)}
    response, created = caller().submit(body, SUBMIT_ROUTE)
    return response_view(response), 201, replayed(created)


@blp.get("/responses/<response_id>")
@requires()
@blp.response(200, ScoredResponseSchema)
@problems(blp, 401, 404)
def get_response(response_id):
    """One response, with its answers, score and change."""
    found = caller().responses.get(response_id)
    if found is None:
        raise Problem(404, "No such response")
    return response_view(found)


@blp.get("/responses")
@requires()
@blp.arguments(ResponseListQuery, location="query")
@blp.response(200, ResponsePageSchema)
@problems(blp, *READ_PROBLEMS)
def list_responses(query):
    """Responses, newest completed first, by client and instrument."""
    filters = {name: query[name] for name in ("client_id", "instrument") if query.get(name)}
    if "client_id" in filters:
        check_client_access(current_principal(), filters["client_id"])
    found, next_cursor = caller().responses.page(filters, limit=query["limit"], cursor=query["cursor"])
    return {"items": [response_view(response) for response in found], "next_cursor": next_cursor}
