"""Move goals stored in the five-collection layout into their histories: ``python -m services.goals.migrate``.

Before ``goal_history``, a goal was its creation record in ``goals`` and its records in
``goal_revisions``, ``goal_progress``, ``goal_claims`` and ``goal_ratings``. This copies every
one of those records into ``goal_history`` (under its own ``_id``, which keeps every claim: a
revision's id already ended in its seq), then builds each goal's current-goal document and
due-soon check as the worker's repair does (``Goals.repair``).

Run it once after deploying the history layout; it may run while the services serve (a goal
not copied yet is a 404 until it is) and may run again: a record already copied is skipped and
every document is rewritten from the history. The old collections are left as they were: drop
them once the counts this prints match theirs. A one-off, so it reads the old collections whole.
"""
from __future__ import annotations

import logging
from typing import Mapping

from pymongo.errors import DuplicateKeyError

from services.goals import config
from services.goals.actions import Goals
from services.goals.adapters.store import CLAIM, CREATED, ENTRY, RATING, REVISION, store_for
from shared.clock import SystemClock
from shared.logs import configure_logging
from shared.mongo import Database

log = logging.getLogger(__name__)

# The old collections and what their records are in a history.
OLD_COLLECTIONS: Mapping[str, str] = {
    "goals": CREATED,
    "goal_revisions": REVISION,
    "goal_progress": ENTRY,
    "goal_claims": CLAIM,
    "goal_ratings": RATING,
}


def migrate(database: Database, now, due_soon_days: int) -> dict[str, int]:
    """Copy the old records into ``goal_history`` and refresh every goal met; returns how many
    records were copied from each old collection."""
    copied: dict[str, int] = {}
    goals: set[tuple[str, str]] = set()
    for name, record in OLD_COLLECTIONS.items():
        copied[name] = 0
        for document in database[name].find():
            goal_id = document["_id"] if record == CREATED else document["goal_id"]
            try:
                # A plain insert, not shared.journal's: the record's events were journalled
                # when it was first written, and journalling them again would publish them twice.
                database[config.HISTORY].insert_one({**document, "goal_id": goal_id, "record": record})
                copied[name] += 1
            except DuplicateKeyError:
                pass  # copied by an earlier run
            goals.add((document["tenant"], goal_id))
    for tenant, goal_id in sorted(goals):
        Goals(store_for(database, tenant), now=now, by=None, due_soon_days=due_soon_days).repair(goal_id)
    return copied


def main() -> None:
    configure_logging(config.SERVICE)
    settings = config.load()
    database = Database(settings.mongo_url, settings.database, config.INDEXES)
    copied = migrate(database, SystemClock().now(), settings["DUE_SOON_DAYS"])
    log.info("goals moved into their histories", extra={"copied": copied})


if __name__ == "__main__":
    main()
