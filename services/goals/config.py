"""The goals service's settings, collections, indexes and event-carrying collections."""
from __future__ import annotations

from shared.config import Option, Settings, load_settings, positive_int, positive_number
from shared.events.consumer import processed_indexes
from shared.mongo import Index

SERVICE = "goals"
OPTIONS = (
    Option("DUE_SOON_DAYS", positive_int, 7, "days before a goal's target date to raise goal.due_soon"),
    Option("DUE_SOON_CHECK_SECONDS", positive_number, 300.0, "how often the worker looks for goals falling due"),
)

# A goal is its creation record plus append-only records beside it (see services/goals/README.md).
GOALS = "goals"
REVISIONS = "goal_revisions"
PROGRESS = "goal_progress"
CLAIMS = "goal_claims"
RATINGS = "goal_ratings"

# Append-only records that carry events (see shared/events/outbox.py).
OUTBOX_COLLECTIONS: tuple[str, ...] = (GOALS, REVISIONS, PROGRESS, CLAIMS)
INDEXES: tuple[Index, ...] = (
    Index(GOALS, [("tenant", 1), ("client_id", 1), ("created_at", 1)]),
    Index(GOALS, [("tenant", 1), ("therapist_id", 1), ("created_at", 1)]),
    Index(GOALS, [("tenant", 1), ("created_at", 1)]),
    Index(GOALS, [("tenant", 1), ("parent_goal_id", 1)]),
    Index(GOALS, [("target_date", 1)]),
    # The next seq is the claim: of two concurrent changes to one goal only one can take it.
    Index(REVISIONS, [("goal_id", 1), ("seq", 1)], unique=True),
    Index(REVISIONS, [("tenant", 1), ("goal_id", 1), ("at", 1)]),
    Index(REVISIONS, [("changes.target_date.to", 1)]),
    Index(REVISIONS, [("tenant", 1), ("changes.parent_goal_id.to", 1)]),
    Index(PROGRESS, [("tenant", 1), ("goal_id", 1), ("recorded_at", 1)]),
    Index(CLAIMS, [("tenant", 1), ("goal_id", 1)]),
    Index(RATINGS, [("tenant", 1), ("goal_id", 1), ("rated_at", 1)]),

    *processed_indexes(),
)

def load() -> Settings:
    return load_settings(SERVICE, options=OPTIONS)
