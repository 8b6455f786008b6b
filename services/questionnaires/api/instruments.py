"""Routes for instruments: the built-in library and a clinic's own, with their sources and licences."""
from __future__ import annotations

from flask_smorest import Blueprint

from services.questionnaires.actions import page_by_code
from services.questionnaires.api.common import caller
from shared.api import READ_PROBLEMS, WRITE_PROBLEMS, problems, replayable, replayed
from services.questionnaires.api.schemas import InstrumentPageSchema, InstrumentViewSchema
from services.questionnaires.domain.instruments import InstrumentSchema
from services.questionnaires.views import instrument_view
from shared.auth import requires
from shared.errors import Problem
from shared.paging import PageQuery

blp = Blueprint(
    "instruments", __name__, url_prefix="/v1",
    description="Validated instruments: items, options, scoring, bands, critical items, change rules, sources, licence.",
)


@blp.get("/instruments")
@requires()
@blp.arguments(PageQuery, location="query")
@blp.response(200, InstrumentPageSchema)
@problems(blp, *READ_PROBLEMS)
def list_instruments(query):
    """The built-in instruments and the clinic's own, by code."""
    found, next_cursor = page_by_code(caller().catalogue.all(), query["limit"], query["cursor"])
    return {"items": [instrument_view(entry) for entry in found], "next_cursor": next_cursor}


@blp.get("/instruments/<code>")
@requires()
@blp.response(200, InstrumentViewSchema)
@problems(blp, 401, 404)
def get_instrument(code):
    """One instrument's whole definition."""
    entry = caller().catalogue.get(code)
    if entry is None:
        raise Problem(404, f"No instrument {code!r} here")
    return instrument_view(entry)


@blp.post("/instruments")
@replayable(blp, keyed=False)
@requires("admin")
@blp.arguments(InstrumentSchema)
@blp.response(201, InstrumentViewSchema)
@problems(blp, *WRITE_PROBLEMS, 409)
def add_instrument(instrument):
    """Add the clinic's own instrument, checked like the built-ins; its code must be new."""
    entry, created = caller().add_instrument(instrument)
    return instrument_view(entry), 201, replayed(created)
