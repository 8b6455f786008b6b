"""A goal's current state: its creation record with every revision applied in order.

A goal is stored as an immutable creation record plus append-only revisions, because FerretDB
v1 has no transactions and its updates are read-modify-write: a goal document that several
writers update could silently lose a change. Each revision has a `seq` (1, 2, ...) that is
unique per goal, so of two concurrent changes only one can take the next number. This module
is the fold; storing and claiming sequence numbers is the caller's business.

A revision is `{seq, kind, changes, reason, by, at}` and, for `revise`, the `smart`
assessment of the revised goal. Kinds and their `changes`:

- `revise`: `revisions.diff` output, `{field: {"from", "to"}}`, where the measure's "to"
  holds only the measure fields that changed;
- `status`: `{"status": {"from", "to"}}`; `auto: True` when progress met the target;
- `milestone_added`: `{"milestone": {"from": None, "to": milestone}}`;
- `attainment_scale`: `{"attainment_scale": {"from": old scale, "to": new scale}}`.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from .lifecycle import INITIAL_STATUS

KINDS = ("revise", "status", "milestone_added", "attainment_scale")

# What a creation record holds about the goal itself (the rest is storage bookkeeping).
GOAL_FIELDS = (
    "client_id", "therapist_id", "title", "description", "category", "measure", "start_date",
    "target_date", "parent_goal_id", "milestones", "smart",
)


def fold(created: Mapping[str, Any], revisions: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The current goal from its creation record and its revisions (any order; sorted by seq).

    Returns the goal fields plus `id`, `status`, `attainment_scale`, `auto_achieved` (progress
    has achieved it once: it is never auto-achieved again, so a therapist who reopens a goal
    keeps the decision), `seq` (the last one, 0 without revisions), `created_at`, `created_by`
    and `updated_at`. Neither argument is modified.
    """
    goal = {field: created.get(field) for field in GOAL_FIELDS}
    goal["measure"] = dict(goal["measure"]) if goal["measure"] else None
    goal["milestones"] = [dict(m) for m in goal["milestones"] or ()]
    goal.update(
        id=created["_id"], status=INITIAL_STATUS, attainment_scale=None, auto_achieved=False, seq=0,
        created_at=created.get("created_at"), created_by=created.get("created_by"),
        updated_at=created.get("created_at"),
    )
    for revision in sorted(revisions, key=lambda r: r["seq"]):
        _apply(goal, revision)
        goal["seq"] = revision["seq"]
        goal["updated_at"] = revision.get("at")
    return goal


def _apply(goal: dict[str, Any], revision: Mapping[str, Any]) -> None:
    kind, changes = revision["kind"], revision["changes"]
    if kind == "revise":
        for field, change in changes.items():
            if field == "measure":
                measure = {**(goal["measure"] or {}), **change["to"]}
                goal["measure"] = measure if any(v is not None for v in measure.values()) else None
            else:
                goal[field] = change["to"]
        if revision.get("smart") is not None:
            goal["smart"] = revision["smart"]
    elif kind == "status":
        goal["status"] = changes["status"]["to"]
        goal["auto_achieved"] = goal["auto_achieved"] or bool(revision.get("auto"))
    elif kind == "milestone_added":
        goal["milestones"].append(dict(changes["milestone"]["to"]))
    elif kind == "attainment_scale":
        goal["attainment_scale"] = changes["attainment_scale"]["to"]
    else:
        raise ValueError(f"unknown revision kind {kind!r}")


def next_seq(goal: Mapping[str, Any]) -> int:
    """The sequence number the next revision of `goal` (a fold result) claims."""
    seq: int = goal["seq"]
    return seq + 1
