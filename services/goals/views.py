"""The goal as the API shows it, computed for a given day from a ``CurrentGoal``.

Pure: the folded goal plus its progress (``domain.progress.summarize``), milestones with when
they were reached, sub-goals rolled up, attainment, whether it is overdue, and its revisions.
A ``CurrentGoal`` comes from the goal's history (one goal) or from its current-goal document
(lists, sub-goals); what depends on the day (on track, overdue) is computed here, at read time.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Iterable

from services.goals.adapters.store import CurrentGoal
from services.goals.domain.dates import as_date
from services.goals.domain.deadlines import is_overdue
from services.goals.domain.measure import number
from services.goals.domain.milestones import threshold
from services.goals.domain.progress import subgoal_percent, summarize
from shared.charts import Chart, Guide, Level, Mark, Point

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


def _midnight(day) -> datetime | None:
    found = as_date(day)
    return None if found is None else datetime.combine(found, time(), tzinfo=timezone.utc)


def _value_range(values: list[float]) -> tuple[float, float]:
    """The values shown, with a margin; from 0 when they are all at or above it."""
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    margin = max(high - low, 1.0) * 0.1
    return (0.0 if low >= 0 else low - margin), high + margin


def goal_chart(current: CurrentGoal, entries: list[dict], now: datetime) -> Chart:
    """A goal's progress drawn: its baseline and target, its milestones, the on-track line from
    the baseline at the start to the target at the target date, and every entry (``entries``,
    all of them) marked by who logged it (client, therapist, or a score)."""
    goal, measure = current.goal, current.goal["measure"]
    if not measure:
        return Chart(
            title=f"Progress of goal {goal['title']}", summary=f"Goal {goal['title']} of client {goal['client_id']}.",
            value_label="", value_range=(0.0, 1.0), now=now,
            empty="This goal has no measure of its own: its sub-goals show its progress.",
        )
    baseline, target = number(measure["baseline"]), number(measure["target"])
    milestones = [milestone for milestone in milestone_views(current) if milestone["threshold"] is not None]
    levels = [Level(label, value, kind) for label, value, kind in (("baseline", baseline, "baseline"), ("target", target, "target"))
              if value is not None]
    levels += [Level(f"milestone {m['title']}", m["threshold"], "milestone") for m in milestones]
    points = [Point(entry["recorded_at"], value, entry["source"]) for entry in entries
              if (value := number(entry["value"])) is not None]
    start, end = _midnight(goal["start_date"]), _midnight(goal["target_date"])
    guide = None
    if start is not None and end is not None and baseline is not None and target is not None and end > start:
        guide = Guide("on track", (start, baseline), (end, target))
    marks = [Mark(due, f"milestone {m['title']} due") for m in milestones if (due := _midnight(m.get("due_date")))]
    if end is not None:
        marks.append(Mark(end, "target date"))
    unit = measure.get("unit") or measure.get("instrument") or measure["kind"]
    return Chart(
        title=f"Progress of goal {goal['title']}",
        summary=f"Goal {goal['title']} of client {goal['client_id']}: {measure['kind']} measure in {unit}, "
                f"{len(points)} entr{'y' if len(points) == 1 else 'ies'}.",
        value_label=unit,
        value_range=_value_range([level.value for level in levels] + [point.value for point in points]),
        now=now,
        points=points,
        levels=levels,
        marks=marks,
        guide=guide,
        empty="No progress logged yet.",
    )
