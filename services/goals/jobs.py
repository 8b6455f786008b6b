"""The goals worker's periodic jobs. Several replicas may run them at once: what they do is
idempotent.

- ``raise_due_soon`` (``goals.due-soon``): ``goal.due_soon`` once per open goal nearing its
  target date, from the due-soon checks its writers scheduled;
- ``refresh_announced`` (``goals.refresh``): rewrites the current-goal document of a goal whose
  writer stopped between its append and its rewrite.
"""
from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Any, Mapping

from services.goals import events
from services.goals.actions import Goals
from services.goals.adapters.store import DUE_SOON_CLAIM, REFRESH_GRACE, GoalStore, deadlines, refreshes, store_for
from services.goals.domain.deadlines import due_soon_from, is_due_soon
from services.goals.domain.lifecycle import is_open
from shared.events.outbox import with_events
from shared.mongo import Database
from shared.timetable import Timetable


def raise_due_soon(database: Database, now: datetime, days_before: int) -> int:
    """The ``goals.due-soon`` job: for each due-soon check now due, raise ``goal.due_soon`` if
    the goal is still open, the check's date is still its target date and that date is within
    ``days_before`` days. The claim's id is the goal's, so it is raised once in the goal's life
    however many replicas run this. Returns how many this call raised."""
    table = deadlines(database)
    raised = 0

    def handle(entry: dict) -> None:
        nonlocal raised
        raised += _due_soon(table, store_for(database, entry["tenant"]), entry, now, days_before)

    table.run(now, handle)
    return raised


def _due_soon(table: Timetable, store: GoalStore, entry: Mapping[str, Any], now: datetime, days_before: int) -> bool:
    history = store.history(entry["goal_id"])
    goal = history.goal if history is not None else None
    if (
        history is not None and goal is not None and is_open(goal["status"])
        and goal["target_date"] == entry["target_date"]
        and (first_day := due_soon_from(goal["target_date"], days_before)) is not None
    ):
        if now.date() < first_day:
            # Put with a shorter DUE_SOON_DAYS than now: check again when it is due soon.
            table.move(entry, f"{entry['_id']}:{first_day.isoformat()}",
                       datetime.combine(first_day, time(), tzinfo=timezone.utc), now)
            return False
        if is_due_soon(goal["target_date"], now.date(), days_before):
            claim = {"_id": f"{history.id}:{DUE_SOON_CLAIM}", "goal_id": history.id, "client_id": goal["client_id"],
                     "kind": DUE_SOON_CLAIM, "target_date": goal["target_date"], "at": now}
            raised = store.claim(with_events(claim, [events.due_soon(store.scope.tenant, goal, now)], now))
            table.done(entry["_id"])
            return raised
    # Closed, moved to another date (which has its own check) or past: nothing to raise.
    table.done(entry["_id"])
    return False


def refresh_announced(database: Database, now: datetime, days_before: int) -> int:
    """The ``goals.refresh`` job: refresh the goals whose writers announced a change and did
    not settle it within ``REFRESH_GRACE`` (they stopped between their append and their
    rewrite of the current-goal document). Returns how many entries it handled."""
    table = refreshes(database)

    def handle(entry: dict) -> None:
        goals = Goals(store_for(database, entry["tenant"]), now=now, by=None, due_soon_days=days_before)
        if goals.repair(entry["goal_id"]):
            table.done(entry["_id"])
        else:
            # Writers are still at it (and will settle it); look again later.
            table.move(entry, f"{entry['_id']}~{table.slot(now)}", now + REFRESH_GRACE, now)

    return table.run(now, handle)
