"""What every goals route shares: the caller's goals (documented problems are in shared.api)."""
from __future__ import annotations

from services.goals.actions import Goals
from services.goals.adapters.instruments import InstrumentRanges
from services.goals.adapters.store import GoalStore
from shared.app import service_context
from shared.auth import current_principal


def caller_goals() -> Goals:
    """The goals the caller may see and change, at this request's moment."""
    principal = current_principal()
    context = service_context()
    return Goals(
        GoalStore(context.database, principal.scope),
        now=context.clock.now(),
        by=principal.sub,
        due_soon_days=context.settings["DUE_SOON_DAYS"],
        ranges=InstrumentRanges(context.database, principal.scope.tenant),
    )


def goal_records_page(goal_id: str, query: dict, page_of: str, view) -> dict:
    """One page of a goal's own records (progress entries, revisions, ratings) for a list route.

    The goal is looked up first, so a goal the caller may not see is a 404, not an empty page.
    """
    goals = caller_goals()
    goals.require(goal_id)
    records, next_cursor = getattr(goals.store, page_of)(goal_id, limit=query["limit"], cursor=query["cursor"])
    return {"items": [view(record) for record in records], "next_cursor": next_cursor}

