"""What every goals route shares: the caller's goals (documented problems are in shared.api)."""
from __future__ import annotations

from services.goals.actions import Goals
from services.goals.adapters.store import GoalStore
from shared.app import service_context
from shared.auth import current_principal
from shared.instrument_ranges import score_ranges


def caller_goals() -> Goals:
    """The goals the caller may see and change, at this request's moment."""
    principal = current_principal()
    context = service_context()
    return Goals(
        GoalStore(context.database, principal.scope),
        now=context.clock.now(),
        by=principal.sub,
        ranges=score_ranges(),
    )
