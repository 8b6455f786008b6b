"""A clinic's outcomes: how its clients' series on one instrument changed, baseline to latest."""
from __future__ import annotations

from flask_smorest import Blueprint

from services.questionnaires.api.common import caller
from services.questionnaires.api.schemas import OutcomesQuery, OutcomesSchema
from shared.api import JSON_MEDIA_TYPE, READ_PROBLEMS, chart_response, chartable, problems, wanted_media
from shared.auth import requires

blp = Blueprint("outcomes", __name__, url_prefix="/v1", description="A clinic's outcomes on an instrument.")


@blp.get("/outcomes")
@requires("admin", "therapist")
@blp.arguments(OutcomesQuery, location="query")
@blp.response(200, OutcomesSchema)
@problems(blp, *READ_PROBLEMS)
@chartable(blp, OutcomesSchema)
def outcomes(query):
    """Counts and percentages of reliable improvement, reliable recovery, no reliable change,
    deterioration and not enough data over the clinic's clients on one instrument (NHS Talking
    Therapies rules), with their denominators and the filters applied. Admins see every client,
    a therapist only their own.

    With `Accept: image/svg+xml` or `image/png`, a bar per category drawn."""
    media = wanted_media()
    view, chart = caller().outcomes(query)
    return view if media == JSON_MEDIA_TYPE else chart_response(chart, media)
