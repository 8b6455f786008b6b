"""The goals worker's event handlers; ``worker.py`` says which queue and events each takes.

- ``score_handler`` (``goals.scores``, ``questionnaire.scored``) feeds the score to the client's
  goals measured by that instrument (progress, milestones, achievement), in the event's tenant;
- ``instrument_handler`` (``goals.instruments``, ``instrument.defined``) keeps a clinic's own
  instrument code and score range, so that goals measured by it are accepted
  (``adapters/instruments.py``).
"""
from __future__ import annotations

import logging

from services.goals.actions import Goals, event_time
from services.goals.adapters.instruments import remember
from services.goals.adapters.store import store_for
from shared.mongo import Database

log = logging.getLogger(__name__)


def score_handler(database: Database, clock, due_soon_days: int):
    def handle(event: dict) -> None:
        data = event["data"]
        total = (data.get("score") or {}).get("total")
        if isinstance(total, bool) or not isinstance(total, (int, float)):
            # Retrying can't fix it: after the retries it waits in dead letters for ops.
            raise ValueError(f"questionnaire.scored {event['id']} has no numeric score total")
        goals = Goals(store_for(database, event["tenantid"]), now=clock.now(), by=None, due_soon_days=due_soon_days)
        added = goals.record_score(
            data["response_id"], data["client_id"], data["instrument"], total,
            event_time(data.get("completed_at") or event["time"]),
        )
        log.info("score fed to goals", extra={"event_id": event["id"], "entries_added": added})

    return handle


def instrument_handler(database: Database):
    def handle(event: dict) -> None:
        remember(database, event)

    return handle
