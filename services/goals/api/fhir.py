"""FHIR R4 read and search of goals (``shared.fhir``): ``GET /fhir/R4/Goal/<id>`` and
``GET /fhir/R4/Goal?patient=&_lastUpdated=&_count=``.

The routes read goals as ``/v1`` does (``caller_goals``), so the caller's tenant and client
scope apply: another clinic's goal is not found, a client reads and searches only its own. A
read folds the goal from its history; a search reads the ``/v1`` list of the patient's goals
(or the clinic's), by creation time.
"""
from __future__ import annotations

from services.goals.api.common import caller_goals
from services.goals.fhir import goal_resource
from shared.auth import requires
from shared.fhir import (
    COMMON_PARAMS, PATIENT_PARAMS, PatientSearchQuery, Served, documented, fhir_blueprint, fhir_response,
    patient_filter, searched, searchset, updated_condition,
)
from shared.instrument_ranges import total_codes

blp = fhir_blueprint("Stepwise goals", [
    Served("Goal", "Each goal: its measure's target and milestones, status, achievement, sub-goals and the score "
                   "Observations that feed it.", PATIENT_PARAMS + COMMON_PARAMS),
])


@blp.get("/Goal/<goal_id>")
@requires()
@documented(blp, "The Goal.", 404)
def read_goal(goal_id):
    """A goal as a FHIR Goal."""
    goals = caller_goals()
    current = goals.current(goal_id)
    return fhir_response(goal_resource(goals.view(current), current.entries, total_codes()))


@blp.get("/Goal")
@requires()
@searched(blp, PatientSearchQuery)
@documented(blp, "A searchset Bundle of Goals, by creation time.", 403, 422)
def search_goals(query):
    """A patient's goals (a client's own when the caller is one), or the clinic's."""
    filters = patient_filter(query)
    goals = caller_goals()
    found, next_cursor = goals.store.listed(
        filters, limit=query["count"], cursor=query["cursor"], updated=updated_condition(query)
    )
    codes = total_codes()
    return searchset(
        [goal_resource(view, current.entries, codes) for view, current in zip(goals.views(found), found, strict=True)],
        next_cursor,
    )
