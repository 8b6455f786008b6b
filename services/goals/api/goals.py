"""Routes for goals: create, list, read, revise, progress, status, milestones, revisions, SMART check.

Thin on purpose: each checks who may act, hands the validated body to ``actions.Goals`` and
shows the result with ``views``.
"""
from __future__ import annotations

from flask_smorest import Blueprint

from services.goals.api.common import caller_goals, goal_records_page
from shared.api import (
    JSON_MEDIA_TYPE, READ_PROBLEMS, WRITE_PROBLEMS, chart_response, chartable, problems, replayable, replayed, wanted_media,
)
from services.goals.api.schemas import (
    EntryPageSchema, GoalCreateSchema, GoalDraftSchema, GoalListQuery, GoalPageSchema, GoalPatchSchema, GoalSchema,
    NewMilestoneSchema, ProgressInSchema, RevisionPageSchema, SmartSchema, StatusInSchema,
)
from services.goals.views import entry_view, revision_view
from shared.auth import STAFF, check_client_access, current_principal, requires
from shared.errors import Problem, invalid
from shared.paging import PageQuery

blp = Blueprint("goals", __name__, url_prefix="/v1", description="Goals, their progress, milestones, status and revisions.")


@blp.post("/goals")
@replayable(blp)
@requires()
@blp.arguments(GoalCreateSchema)
@blp.response(201, GoalSchema)
@problems(blp, *WRITE_PROBLEMS, 409)
def create_goal(data):
    """Create a goal: 201 with its status and SMART assessment; once per Idempotency-Key."""
    principal = current_principal()
    draft = dict(data)
    if principal.is_client:
        if draft.get("therapist_id") is not None:
            raise Problem(403, "A client may not choose the therapist of a goal")
        draft.setdefault("client_id", principal.sub)
    elif not draft.get("client_id"):
        raise invalid({"client_id": ["Name the client whose goal this is."]})
    check_client_access(principal, draft["client_id"])
    if principal.role == "therapist" and draft.get("therapist_id") is None:
        draft["therapist_id"] = principal.sub
    goals = caller_goals()
    goal, created = goals.create(draft, route="POST /v1/goals", body=data)
    return goals.view(goal), 201, replayed(created)


@blp.get("/goals")
@requires()
@blp.arguments(GoalListQuery, location="query")
@blp.response(200, GoalPageSchema)
@problems(blp, *READ_PROBLEMS)
def list_goals(query):
    """Goals by creation time, filtered by client and by current therapist, parent goal or status."""
    filters = {name: query[name] for name in ("client_id", "therapist_id", "parent_goal_id", "status") if query.get(name)}
    if "client_id" in filters:
        check_client_access(current_principal(), filters["client_id"])
    items, next_cursor = caller_goals().listed(filters, limit=query["limit"], cursor=query["cursor"])
    return {"items": items, "next_cursor": next_cursor}


@blp.post("/goals/smart-check")
@requires()
@blp.arguments(GoalDraftSchema)
@blp.response(200, SmartSchema)
@problems(blp, *WRITE_PROBLEMS)
def smart_check(draft):
    """Assess a draft goal against SMART; nothing is stored."""
    return caller_goals().smart_check(draft)


@blp.get("/goals/<goal_id>")
@requires()
@blp.response(200, GoalSchema)
@problems(blp, 401, 404)
@chartable(blp, GoalSchema)
def get_goal(goal_id):
    """A goal with its progress, milestones, sub-goals, attainment and revisions.

    With `Accept: image/svg+xml` or `image/png`, its progress drawn: baseline, target, milestones,
    the on-track line and every entry, marked by who logged it."""
    media = wanted_media()
    goals = caller_goals()
    if media == JSON_MEDIA_TYPE:
        return goals.view(goals.current(goal_id))
    return chart_response(goals.chart(goal_id), media)


@blp.patch("/goals/<goal_id>")
@requires(*STAFF)
@blp.arguments(GoalPatchSchema)
@blp.response(200, GoalSchema)
@problems(blp, *WRITE_PROBLEMS, 404, 409)
def revise_goal(data, goal_id):
    """Revise a goal, saying why; every revision is kept and progress is never lost."""
    patch = dict(data)
    reason = patch.pop("reason")
    goals = caller_goals()
    return goals.view(goals.revise(goal_id, patch, reason))


@blp.post("/goals/<goal_id>/progress")
@replayable(blp)
@requires()
@blp.arguments(ProgressInSchema)
@blp.response(201, GoalSchema)
@problems(blp, *WRITE_PROBLEMS, 404, 409)
def record_progress(data, goal_id):
    """Log progress: 201 with the goal; milestones passed and a target met follow from it."""
    source = "client" if current_principal().is_client else "therapist"
    goals = caller_goals()
    goal, created = goals.record_progress(goal_id, data, source, route=f"POST /v1/goals/{goal_id}/progress", body=data)
    return goals.view(goal), 201, replayed(created)


@blp.get("/goals/<goal_id>/progress")
@requires()
@blp.arguments(PageQuery, location="query")
@blp.response(200, EntryPageSchema)
@problems(blp, *READ_PROBLEMS, 404)
def list_progress(query, goal_id):
    """A goal's progress entries, oldest first."""
    return goal_records_page(goal_id, query, "entries_page", entry_view)


@blp.post("/goals/<goal_id>/status")
@requires(*STAFF)
@blp.arguments(StatusInSchema)
@blp.response(200, GoalSchema)
@problems(blp, *WRITE_PROBLEMS, 404, 409)
def change_status(data, goal_id):
    """Change a goal's status; an impossible change is 409 naming the allowed ones."""
    goals = caller_goals()
    return goals.view(goals.set_status(goal_id, data["status"], data.get("reason")))


@blp.post("/goals/<goal_id>/milestones")
@replayable(blp)
@requires(*STAFF)
@blp.arguments(NewMilestoneSchema)
@blp.response(201, GoalSchema)
@problems(blp, *WRITE_PROBLEMS, 404, 409)
def add_milestone(data, goal_id):
    """Add a milestone (a value or a percent of the way); progress reaches it."""
    milestone = dict(data)
    reason = milestone.pop("reason", None)
    goals = caller_goals()
    goal, created = goals.add_milestone(
        goal_id, milestone, reason, route=f"POST /v1/goals/{goal_id}/milestones", body=data
    )
    return goals.view(goal), 201, replayed(created)


@blp.get("/goals/<goal_id>/revisions")
@requires()
@blp.arguments(PageQuery, location="query")
@blp.response(200, RevisionPageSchema)
@problems(blp, *READ_PROBLEMS, 404)
def list_revisions(query, goal_id):
    """A goal's revisions in order: who changed what, when and why."""
    return goal_records_page(goal_id, query, "revisions_page", revision_view)
