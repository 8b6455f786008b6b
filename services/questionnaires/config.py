"""The questionnaires service's settings, collections, indexes and event-carrying collections."""
from __future__ import annotations

from shared import client_data
from shared.config import Option, Settings, load_settings, positive_number
from shared.audit import indexes as audit_indexes
from shared.mongo import Index
from shared.paging import Listing, period_indexes
from shared.timetable import Timetable

SERVICE = "questionnaires"
OPTIONS: tuple[Option, ...] = (
    Option("REMINDER_CHECK_SECONDS", positive_number, 60.0, "how often the worker looks for assignments falling due"),
    Option("OVERDUE_AFTER_HOURS", positive_number, 48.0, "hours after an occurrence opens that it is overdue"),
)

# What is stored (see services/questionnaires/README.md, "Storage"):
INSTRUMENTS = "instruments"  # a tenant's own definitions, _id "<tenant>:<code>"; never changed; carry instrument.defined
# instrument.defined for the definitions stored before they carried it (migrate.py); _id = the definition's
INSTRUMENT_ANNOUNCEMENTS = "instrument_announcements"
RESPONSES = "responses"  # scored responses; append-only, carry questionnaire.scored and risk.flagged
ASSIGNMENTS = "assignments"  # append-only, carry questionnaire.assigned
CANCELLATIONS = "assignment_cancellations"  # _id = the assignment's id
FULFILMENTS = "fulfilments"  # _id = the occurrence key: the response that answered it
REMINDERS = "reminders"  # _id = "<occurrence key>:<kind>": the claim that carries questionnaire.due
REMINDER_TIMETABLE = "reminder_timetable"  # the reminders to consider next (shared.timetable), one per occurrence and kind
# What clinic outcomes read: one summary per client and instrument (its baseline and latest score),
# rewritten whole from the series when a response is stored; _id derived from the three
SERIES_SUMMARIES = "series_summaries"
# Which therapists a client has (a therapist submitting, or responsible for an assignment), one
# claim per pair, _id derived from tenant, client and therapist
CLIENT_THERAPISTS = "client_therapists"

# Lists that grow without bound are read a period at a time (shared.paging.Listing): a tenant's
# responses a day at a time (tens a day per clinic), a client's a year at a time (a daily diary
# is a few hundred a year), a tenant's assignments a month at a time. A client's assignments are
# a handful per course of treatment: one query (shared.paging.page).
TENANT_RESPONSES = Listing("responses", ("tenant",), "completed_at", period="day")
CLIENT_RESPONSES = Listing("client_responses", ("tenant", "client_id"), "completed_at", period="year")
TENANT_ASSIGNMENTS = Listing("assignments", ("tenant",), "created_at", period="month")

# The reminder timetable's windows: an hour, so a tick reads at most the current hour's
# reminders, and a worker that was stopped for a day walks 24 windows to catch up.
REMINDER_SLOT_SECONDS = 3600

# Append-only records that carry events (see shared/events/outbox.py).
# A client's records, for export and erasure (shared/client_data.py).
CLIENT_RECORDS = client_data.ClientRecords(by_client=tuple(
    (collection, "client_id")
    for collection in (RESPONSES, ASSIGNMENTS, CANCELLATIONS, FULFILMENTS, REMINDERS, SERIES_SUMMARIES, CLIENT_THERAPISTS)))

OUTBOX_COLLECTIONS: tuple[str, ...] = (RESPONSES, ASSIGNMENTS, REMINDERS, INSTRUMENTS, INSTRUMENT_ANNOUNCEMENTS,
                                       *client_data.outbox_collections())
# Every index serves a query named in the README ("Storage"); lookups by _id need none.
_INDEXES: tuple[Index, ...] = (
    # The claim of a place in a client's series on an instrument: two concurrent submissions
    # cannot both be compared with the same previous response. Also serves the series' latest
    # response (sorted by seq, limit 1), and the trajectory and recovery (equality on its prefix).
    Index(RESPONSES, [("tenant", 1), ("client_id", 1), ("instrument", 1), ("seq", 1)], unique=True, name="series_seq"),
    *TENANT_RESPONSES.indexes(RESPONSES),
    *CLIENT_RESPONSES.indexes(RESPONSES),
    Index(ASSIGNMENTS, [("tenant", 1), ("client_id", 1), ("created_at", 1)]),  # a client's assignments
    *TENANT_ASSIGNMENTS.indexes(ASSIGNMENTS),
    Index(CANCELLATIONS, [("tenant", 1), ("client_id", 1)]),  # a client's, for assignment views
    Index(FULFILMENTS, [("tenant", 1), ("client_id", 1)]),  # a client's, for assignment views
    Index(INSTRUMENTS, [("tenant", 1)]),  # a tenant's own instruments, for the list
    # A clinic's outcomes on an instrument, of every client or of one baseline month (the cohort);
    # one therapist's clients are read by their summaries' ids.
    Index(SERIES_SUMMARIES, [("tenant", 1), ("instrument", 1), ("cohort", 1)]),
    Index(CLIENT_THERAPISTS, [("tenant", 1), ("therapist_id", 1)]),  # a therapist's clients, for outcomes
    *Timetable.indexes(REMINDER_TIMETABLE),
    *period_indexes(),
    *audit_indexes(),
    *client_data.indexes(),
)
INDEXES = (*_INDEXES, *CLIENT_RECORDS.indexes(_INDEXES))


def load() -> Settings:
    return load_settings(SERVICE, options=OPTIONS)
