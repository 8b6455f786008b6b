"""Revising a goal: which fields may change, and what changed between two versions.

Who the goal belongs to (`client_id`, `tenant`) never changes, and neither do fields that have
their own endpoint or are computed: `status` (status changes), `milestones`, `progress`,
`smart`, `revisions`, the attainment scale, ids and timestamps.
"""

from collections.abc import Iterable, Mapping
from typing import Any

REVISABLE_FIELDS = (
    "title", "description", "category", "measure", "start_date", "target_date",
    "parent_goal_id", "therapist_id",
)
MEASURE_FIELDS = ("kind", "unit", "baseline", "target", "direction", "per", "instrument")


class NotRevisable(ValueError):
    """A revision tried to change fields that cannot be revised; `fields` names them."""

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = tuple(fields)
        super().__init__(f"these fields cannot be revised: {', '.join(self.fields)}")


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What changed from `before` to `after` (two whole goals), over the revisable fields.

    Returns {field: {"from": old, "to": new}}. For the measure, "from" and "to" hold only the
    measure fields that changed (e.g. {"measure": {"from": {"target": 10}, "to": {"target": 9}}}),
    so a revision reads "target 10 -> 9" rather than two whole measures. Field names carry no
    dots: MongoDB and FerretDB refuse them in stored keys, and revisions and their events are
    stored. A field missing on one side counts as None. Empty when nothing changed.
    """
    changes: dict[str, dict[str, Any]] = {}
    for field in REVISABLE_FIELDS:
        if field == "measure":
            old, new = before.get("measure") or {}, after.get("measure") or {}
            changed = [key for key in MEASURE_FIELDS if old.get(key) != new.get(key)]
            if changed:
                changes["measure"] = {"from": {key: old.get(key) for key in changed},
                                      "to": {key: new.get(key) for key in changed}}
        elif before.get(field) != after.get(field):
            changes[field] = {"from": before.get(field), "to": after.get(field)}
    return changes


def revise(
    before: Mapping[str, Any], patch: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Apply a PATCH body's goal fields to `before` and return (after, changes).

    `patch` holds only the fields to change (the API takes `reason` out first). A `measure` in
    the patch is merged field by field into the current one, so changing the target alone keeps
    the rest. Raises NotRevisable naming any field outside REVISABLE_FIELDS; `before` is not
    modified. `changes` is `diff(before, after)`.
    """
    refused = [field for field in patch if field not in REVISABLE_FIELDS]
    if refused:
        raise NotRevisable(refused)
    after = dict(before)
    for field, value in patch.items():
        if field == "measure" and isinstance(value, dict):
            after["measure"] = {**(before.get("measure") or {}), **value}
        else:
            after[field] = value
    return after, diff(before, after)
