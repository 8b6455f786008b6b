"""Routes for goal attainment scaling: a goal's scale and ratings, a client's T-score."""
from __future__ import annotations

from flask_smorest import Blueprint

from services.goals.api.common import caller_goals, goal_records_page
from shared.api import READ_PROBLEMS, WRITE_PROBLEMS, problems, replayable, replayed
from services.goals.api.schemas import (
    AttainmentScaleInSchema, ClientAttainmentSchema, GoalSchema, RatingInSchema, RatingPageSchema,
)
from services.goals.views import rating_view
from shared.auth import STAFF, check_client_access, current_principal, requires
from shared.paging import PageQuery

blp = Blueprint("attainment", __name__, url_prefix="/v1", description="Goal attainment scaling (Kiresuk-Sherman).")


@blp.put("/goals/<goal_id>/attainment-scale")
@requires(*STAFF)
@blp.arguments(AttainmentScaleInSchema)
@blp.response(200, GoalSchema)
@problems(blp, *WRITE_PROBLEMS, 404, 409)
def set_scale(data, goal_id):
    """Describe the outcome at each level from -2 to 2, and weigh the goal."""
    scale = dict(data)
    reason = scale.pop("reason", None)
    goals = caller_goals()
    return goals.view(goals.set_scale(goal_id, scale, reason))


@blp.post("/goals/<goal_id>/attainment")
@replayable(blp)
@requires(*STAFF)
@blp.arguments(RatingInSchema)
@blp.response(201, GoalSchema)
@problems(blp, *WRITE_PROBLEMS, 404, 409)
def rate(data, goal_id):
    """Rate the goal's attainment at a level from -2 to 2: 201 with the goal."""
    goals = caller_goals()
    goal, created = goals.rate(goal_id, data, route=f"POST /v1/goals/{goal_id}/attainment", body=data)
    return goals.view(goal), 201, replayed(created)


@blp.get("/goals/<goal_id>/attainment")
@requires()
@blp.arguments(PageQuery, location="query")
@blp.response(200, RatingPageSchema)
@problems(blp, *READ_PROBLEMS, 404)
def list_ratings(query, goal_id):
    """A goal's attainment ratings, oldest first."""
    return goal_records_page(goal_id, query, "ratings_page", rating_view)


@blp.get("/clients/<client_id>/attainment")
@requires()
@blp.response(200, ClientAttainmentSchema)
@problems(blp, 401, 403)
def client_attainment(client_id):
    """The client's T-score over their scaled goals at their latest rating, and the goals used."""
    check_client_access(current_principal(), client_id)
    return caller_goals().client_attainment(client_id)
