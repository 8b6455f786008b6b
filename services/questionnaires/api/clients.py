"""Routes about one client: their score trajectories and their NHS Talking Therapies outcome."""
from __future__ import annotations

from flask_smorest import Blueprint

from services.questionnaires.api.common import caller
from shared.api import JSON_MEDIA_TYPE, READ_PROBLEMS, chart_response, chartable, problems, wanted_media
from services.questionnaires.api.schemas import RecoveryQuery, RecoverySchema, ScoresQuery, TrajectorySchema
from shared.auth import check_client_access, current_principal, requires
from shared.errors import invalid

blp = Blueprint("clients", __name__, url_prefix="/v1", description="A client's trajectories and recovery.")


@blp.get("/clients/<client_id>/scores")
@requires()
@blp.arguments(ScoresQuery, location="query")
@blp.response(200, TrajectorySchema)
@problems(blp, *READ_PROBLEMS)
@chartable(blp, TrajectorySchema)
def client_scores(query, client_id):
    """The client's scores over time, per instrument: totals, bands, flags, change and expected
    recovery, with the instrument's range, bands and cut-offs for the chart.

    With `Accept: image/svg+xml` or `image/png` and an `instrument`, that chart drawn: severity
    bands, caseness cut-off, the corridor of no reliable change around the baseline, each score
    marked by its change, and the assignments' due dates."""
    media = wanted_media()
    check_client_access(current_principal(), client_id)
    code = query.get("instrument")
    if media == JSON_MEDIA_TYPE:
        return {"client_id": client_id, "series": caller().trajectory(client_id, code)}
    if code is None:
        raise invalid({"instrument": ["Name the instrument to chart."]})
    return chart_response(caller().trajectory_chart(client_id, code), media)


@blp.get("/clients/<client_id>/recovery")
@requires()
@blp.arguments(RecoveryQuery, location="query")
@blp.response(200, RecoverySchema)
@problems(blp, *READ_PROBLEMS)
def client_recovery(query, client_id):
    """NHS Talking Therapies recovery and reliable recovery so far, from the baseline and latest
    scores on a depression measure (PHQ-9) and an anxiety measure (GAD-7)."""
    check_client_access(current_principal(), client_id)
    return caller().recovery(client_id, query["depression"], query["anxiety"])
