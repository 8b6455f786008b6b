"""The goals worker's event handlers; ``worker.py`` says which queue and events each takes.

- ``score_handler`` (``goals.scores``, ``questionnaire.scored``) feeds the score to the client's
  goals measured by that instrument (progress, milestones, achievement), in the event's tenant;
- ``instrument_handler`` (``goals.instruments``, ``instrument.defined``) keeps a clinic's own
  instrument code and score range, so that goals measured by it are accepted
  (``adapters/instruments.py``).
"""
from __future__ import annotations

import logging

from services.goals.actions import Goals
from services.goals.adapters.instruments import remember
from services.goals.adapters.store import store_for
from shared.clock import parse_rfc3339
from shared.mongo import Database

log = logging.getLogger(__name__)


def score_handler(database: Database, clock, due_soon_days: int):
    def handle(event: dict) -> None:
        # The consumer dead-lettered a score without a numeric total (the registry requires one).
        data = event["data"]
        goals = Goals(store_for(database, event["tenantid"]), now=clock.now(), by=None, due_soon_days=due_soon_days)
        added = goals.record_score(
            data["response_id"], data["client_id"], data["instrument"], data["score"]["total"],
            parse_rfc3339(data.get("completed_at") or event["time"]),
        )
        log.info("score fed to goals", extra={"event_id": event["id"], "entries_added": added})

    return handle


def instrument_handler(database: Database):
    def handle(event: dict) -> None:
        remember(database, event)

    return handle
