"""The goal.* events, built from a goal (a fold result) and what happened to it.

Every event's data names the goal, its client and its therapist (the notifications service adds
``therapist_id`` to the client's care team) and, for inbox wording, its ``title``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from shared.clock import rfc3339
from shared.events.envelope import new_event
from shared.events.registry import REGISTRY


def _about(goal: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "goal_id": goal["id"],
        "client_id": goal["client_id"],
        "therapist_id": goal.get("therapist_id"),
        "title": goal["title"],
    }


def _event(name: str, tenant: str, goal: Mapping[str, Any], data: Mapping[str, Any], now: datetime) -> dict:
    return new_event(name, tenant=tenant, subject=goal["id"], data=dict(data), time=now)


def created(tenant: str, goal: Mapping[str, Any], now: datetime) -> dict:
    """``goal.created`` carries the goal as stored: the fields the registry defines for it."""
    data = {field: goal.get(field) for field in REGISTRY["goal.created"].fields}
    return _event("goal.created", tenant, goal, data, now)


def revised(tenant: str, goal: Mapping[str, Any], changes: Mapping[str, Any], reason: str | None, now: datetime) -> dict:
    return _event("goal.revised", tenant, goal, {**_about(goal), "changes": dict(changes), "reason": reason}, now)


def progress_recorded(tenant: str, goal: Mapping[str, Any], entry: Mapping[str, Any], percent: float | None, now: datetime) -> dict:
    data = {**_about(goal), "value": entry["value"], "percent": percent, "source": entry["source"],
            "recorded_at": rfc3339(entry["recorded_at"])}
    return _event("goal.progress_recorded", tenant, goal, data, now)


def milestone_reached(tenant: str, goal: Mapping[str, Any], milestone: Mapping[str, Any], value: float, now: datetime) -> dict:
    return _event("goal.milestone_reached", tenant, goal, {**_about(goal), "milestone": dict(milestone), "value": value}, now)


def status_changed(tenant: str, goal: Mapping[str, Any], old: str, new: str, reason: str | None, now: datetime) -> dict:
    return _event("goal.status_changed", tenant, goal, {**_about(goal), "from": old, "to": new, "reason": reason}, now)


def achieved(tenant: str, goal: Mapping[str, Any], automatically: bool, now: datetime) -> dict:
    """``goal.achieved``; ``how`` says whether progress met the target or someone marked it."""
    return _event("goal.achieved", tenant, goal, {**_about(goal), "how": "target_met" if automatically else "marked"}, now)


def due_soon(tenant: str, goal: Mapping[str, Any], now: datetime) -> dict:
    return _event("goal.due_soon", tenant, goal, {**_about(goal), "target_date": goal["target_date"]}, now)
