"""The questionnaires service's settings, indexes and event-carrying collections."""
from __future__ import annotations

from shared.config import Option, Settings, load_settings
from shared.events.consumer import processed_indexes
from shared.events.outbox import outbox_indexes
from shared.mongo import Index

SERVICE = "questionnaires"
OPTIONS: tuple[Option, ...] = ()
# Append-only records that carry events (see shared/events/outbox.py).
OUTBOX_COLLECTIONS: tuple[str, ...] = ()
INDEXES: tuple[Index, ...] = (*outbox_indexes(OUTBOX_COLLECTIONS), *processed_indexes())


def load() -> Settings:
    return load_settings(SERVICE, options=OPTIONS)
