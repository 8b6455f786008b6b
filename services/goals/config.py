"""The goals service's settings, collections, lists, indexes and event-carrying collections."""
from __future__ import annotations

from shared import client_data
from shared.config import Option, Settings, load_settings, positive_int, positive_number
from shared.events.consumer import processed_indexes
from shared.audit import indexes as audit_indexes
from shared.mongo import Index
from shared.paging import Listing, period_indexes
from shared.timetable import Timetable

SERVICE = "goals"
OPTIONS = (
    Option("DUE_SOON_DAYS", positive_int, 7, "days before a goal's target date to raise goal.due_soon"),
    Option("DUE_SOON_CHECK_SECONDS", positive_number, 300.0, "how often the worker looks for goals falling due"),
)

# A goal is its history (append-only, one document per fact) plus a current-goal document
# rewritten from it (a cache for lists and lookups); see services/goals/README.md, "Data model".
HISTORY = "goal_history"
CURRENT = "current_goals"
# Timetables (shared.timetable): changes announced before they are stored, so that the worker
# brings the current-goal document up to date if the writer stops half-way; and goals falling due.
REFRESHES = "goal_refreshes"
DEADLINES = "goal_deadlines"
# A clinic's own instruments as goals needs them (adapters/instruments.py), from instrument.defined.
INSTRUMENTS = "instruments"

# Long lists of current goals (a tenant's, a therapist's, a tenant's by status), read a month of
# creation times at a time. A client's goals and a goal's sub-goals are small lists: one query.
BY_TENANT = Listing("goals", ("tenant",), "created_at", period="month", descending=False)
BY_THERAPIST = Listing("goals-of-therapist", ("tenant", "therapist_id"), "created_at", period="month", descending=False)
BY_STATUS = Listing("goals-by-status", ("tenant", "status"), "created_at", period="month", descending=False)

# Append-only records that carry events (see shared/events/outbox.py).
# A client's records, for export and erasure (shared/client_data.py): their goals, and each
# goal's history found by the goals' ids.
CLIENT_RECORDS = client_data.ClientRecords(by_client=((CURRENT, "client_id"),),
                                           through=(client_data.Through(HISTORY, "goal_id", CURRENT),))

OUTBOX_COLLECTIONS: tuple[str, ...] = (HISTORY, *client_data.outbox_collections())
_INDEXES: tuple[Index, ...] = (
    # A goal's whole history (tenant, goal_id), or one kind of its records paged (+ record).
    Index(HISTORY, [("tenant", 1), ("goal_id", 1), ("record", 1)]),
    # A tenant's own instruments, listed (a lookup by code is by _id).
    Index(INSTRUMENTS, [("tenant", 1)]),
    # A client's goals (list, attainment), a goal's sub-goals (roll-up, list), a client's goals
    # on one instrument (questionnaire scores).
    Index(CURRENT, [("tenant", 1), ("client_id", 1), ("created_at", 1)]),
    Index(CURRENT, [("tenant", 1), ("parent_goal_id", 1), ("created_at", 1)]),
    Index(CURRENT, [("tenant", 1), ("client_id", 1), ("instrument", 1)]),
    *BY_TENANT.indexes(CURRENT),
    *BY_THERAPIST.indexes(CURRENT),
    *BY_STATUS.indexes(CURRENT),
    *period_indexes(),
    *audit_indexes(),
    *Timetable.indexes(REFRESHES),
    *Timetable.indexes(DEADLINES),
    *processed_indexes(),
    *client_data.indexes(),
)
INDEXES = (*_INDEXES, *CLIENT_RECORDS.indexes(_INDEXES))


def load() -> Settings:
    return load_settings(SERVICE, options=OPTIONS)
