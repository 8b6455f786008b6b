"""The questionnaires service's settings, collections, indexes and event-carrying collections."""
from __future__ import annotations

from shared.config import Option, Settings, load_settings, positive_number
from shared.events.consumer import processed_indexes
from shared.mongo import Index

SERVICE = "questionnaires"
OPTIONS: tuple[Option, ...] = (
    Option("REMINDER_CHECK_SECONDS", positive_number, 60.0, "how often the worker looks for assignments falling due"),
    Option("OVERDUE_AFTER_HOURS", positive_number, 48.0, "hours after an occurrence opens that it is overdue"),
)

# What is stored (see services/questionnaires/README.md, "Storage"):
INSTRUMENTS = "instruments"  # a tenant's own definitions, _id "<tenant>:<code>"; never changed
RESPONSES = "responses"  # scored responses; append-only, carry questionnaire.scored and risk.flagged
SCORE_HEADS = "score_heads"  # prefix of HEAD_BUCKETS collections: where each series stands (a hint, no events)
HEAD_BUCKETS = 64
ASSIGNMENTS = "assignments"  # append-only, carry questionnaire.assigned
CANCELLATIONS = "assignment_cancellations"  # _id = the assignment's id
FULFILMENTS = "fulfilments"  # _id = the occurrence key: the response that answered it
REMINDERS = "reminders"  # _id = "<occurrence key>:<kind>": the claim that carries questionnaire.due

# Append-only records that carry events (see shared/events/outbox.py).
OUTBOX_COLLECTIONS: tuple[str, ...] = (RESPONSES, ASSIGNMENTS, REMINDERS)
INDEXES: tuple[Index, ...] = (
    # The claim of a place in a client's series on an instrument: two concurrent submissions
    # cannot both be compared with the same previous response. Also serves the trajectory.
    Index(RESPONSES, [("tenant", 1), ("client_id", 1), ("instrument", 1), ("seq", 1)], unique=True, name="series_seq"),
    Index(RESPONSES, [("tenant", 1), ("completed_at", 1)]),
    Index(ASSIGNMENTS, [("tenant", 1), ("client_id", 1), ("created_at", 1)]),
    Index(ASSIGNMENTS, [("tenant", 1), ("created_at", 1)]),
    Index(FULFILMENTS, [("assignment_id", 1)]),
    *processed_indexes(),
)


def load() -> Settings:
    return load_settings(SERVICE, options=OPTIONS)
