"""The goal as the API shows it, computed for a given day from a ``CurrentGoal``.

Pure: the folded goal plus its progress (``domain.progress.summarize``), milestones with when
they were reached, sub-goals rolled up, attainment, whether it is overdue, and its revisions.
A ``CurrentGoal`` comes from the goal's history (one goal) or from its current-goal document
(lists, sub-goals); what depends on the day (on track, overdue) is computed here, at read time.
"""
from __future__ import annotations

from datetime import date
from typing import Iterable

from services.goals.adapters.store import CurrentGoal
from services.goals.domain.deadlines import is_overdue
from services.goals.domain.milestones import threshold
from services.goals.domain.progress import subgoal_percent, summarize

GOAL_FIELDS = (
    "id", "client_id", "therapist_id", "title", "description", "category", "measure", "start_date",
    "target_date", "parent_goal_id", "status", "smart", "created_at", "created_by", "updated_at",
)
NO_PROGRESS = {"current": None, "percent": None, "trend": None, "on_track": None, "target_met": False}


def progress_of(current: CurrentGoal, today: date) -> dict:
    """The goal's own progress from its entries (unrounded); none for a goal without a measure."""
    goal = current.goal
    if not goal["measure"]:
        return dict(NO_PROGRESS)
    return summarize(
        goal["measure"], current.entries, start_date=goal["start_date"], target_date=goal["target_date"], today=today
    )


def rounded(share: float | None) -> float | None:
    """Percentages are shown to one decimal; the arithmetic keeps full precision."""
    return None if share is None else round(share, 1)


def goal_view(current: CurrentGoal, today: date, subgoals: Iterable[CurrentGoal] = ()) -> dict:
    """The goal's representation. A goal without a measure of its own (an umbrella goal) shows
    its sub-goals' roll-up as its percent; a goal with a measure shows only what was logged on
    that measure (None before any entry: sub-goals achieved do not say the parent's own target
    is met). ``subgoals_percent`` always shows the roll-up."""
    goal = current.goal
    children = [(child, progress_of(child, today)) for child in subgoals]
    progress = progress_of(current, today)
    rollup = subgoal_percent([(child.goal["status"], shown["percent"]) for child, shown in children])
    own = progress["percent"]
    progress.update(percent=rounded(rollup if goal.get("measure") is None else own), subgoals_percent=rounded(rollup))

    view = {field: goal[field] for field in GOAL_FIELDS}
    view.update(
        overdue=is_overdue(goal["target_date"], today, goal["status"]),
        progress=progress,
        milestones=milestone_views(current),
        subgoals=[
            {"id": child.id, "title": child.goal["title"], "status": child.goal["status"], "percent": rounded(shown["percent"])}
            for child, shown in children
        ],
        attainment=attainment_view(current),
        revisions=[revision_view(revision) for revision in current.revisions],
    )
    return view


def milestone_views(current: CurrentGoal) -> list[dict]:
    measure = current.goal["measure"]
    return [
        {
            **milestone,
            "threshold": threshold(milestone, measure) if measure else None,
            "reached_at": current.reached.get(milestone["id"]),
        }
        for milestone in current.goal["milestones"]
    ]


def attainment_view(current: CurrentGoal) -> dict | None:
    scale = current.goal["attainment_scale"]
    if scale is None:
        return None
    return {"scale": scale, "latest": rating_view(current.latest_rating) if current.latest_rating else None}


def revision_view(revision: dict) -> dict:
    return {key: revision.get(key) for key in ("seq", "kind", "changes", "reason", "by", "at")}


def entry_view(entry: dict) -> dict:
    return {"id": entry["_id"], **{key: entry.get(key) for key in ("goal_id", "value", "recorded_at", "note", "source", "by")}}


def rating_view(rating: dict) -> dict:
    return {"id": rating["_id"], **{key: rating.get(key) for key in ("goal_id", "level", "note", "rated_at", "by")}}
