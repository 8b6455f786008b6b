"""The goals service's settings, indexes and event-carrying collections."""
from __future__ import annotations

from shared.config import Option, Settings, load_settings, positive_int
from shared.events.consumer import processed_indexes
from shared.events.outbox import outbox_indexes
from shared.mongo import Index

SERVICE = "goals"
OPTIONS = (
    Option("DUE_SOON_DAYS", positive_int, 7, "days before a goal's target date to raise goal.due_soon"),
)
# Append-only records that carry events (see shared/events/outbox.py).
OUTBOX_COLLECTIONS: tuple[str, ...] = ()
INDEXES: tuple[Index, ...] = (*outbox_indexes(OUTBOX_COLLECTIONS), *processed_indexes())


def load() -> Settings:
    return load_settings(SERVICE, options=OPTIONS)
