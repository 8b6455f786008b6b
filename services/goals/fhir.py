"""A goal as a FHIR R4 ``Goal`` (pure: no I/O), from the goal as the API shows it (``views``).

- ``lifecycleStatus``: active -> active, on_hold -> on-hold, achieved -> completed, abandoned ->
  cancelled (GoalLifecycleStatus);
- ``achievementStatus`` (goal-achievement): achieved when the goal is achieved or its target is
  met, not-achieved when abandoned, else its trend (improving, worsening, flat -> no-change),
  and in-progress before there is one;
- ``target``: the measure's target with ``dueDate`` the target date, then each milestone as a
  target of its own (its threshold, its due date, and the Stepwise ``milestone`` extension with
  its title and when it was reached); an instrument's measure is coded with the instrument's
  total-score code, and its quantities are in ``{score}``;
- sub-goals: one core ``goal-relationship`` extension per sub-goal, type ``milestone`` ("the
  target goal is a piece of attaining this goal");
- ``outcomeReference``: the score Observations among the goal's latest progress entries (the
  questionnaires service serves them under the response's id).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

from shared.fhir import SCORE_UNIT, STEPWISE_FHIR, instant, meta, patient, reference, stepwise_coding

LIFECYCLE = {"active": "active", "on_hold": "on-hold", "achieved": "completed", "abandoned": "cancelled"}
TRENDS = {"improving": "improving", "worsening": "worsening", "flat": "no-change"}
ACHIEVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/goal-achievement"
GOAL_RELATIONSHIP = "http://hl7.org/fhir/StructureDefinition/goal-relationship"
RELATIONSHIP_TYPES = "http://terminology.hl7.org/CodeSystem/goal-relationship-type"
MILESTONE = f"{STEPWISE_FHIR}/StructureDefinition/milestone"


def achievement(goal: Mapping[str, Any]) -> str:
    progress = goal["progress"]
    if goal["status"] == "achieved" or progress["target_met"]:
        return "achieved"
    if goal["status"] == "abandoned":
        return "not-achieved"
    return TRENDS.get(progress["trend"], "in-progress")


def status_changed(goal: Mapping[str, Any]) -> datetime:
    """When the goal took its current status: its last status revision, else its creation."""
    changes = [revision["at"] for revision in goal["revisions"] if revision["kind"] == "status"]
    return changes[-1] if changes else goal["created_at"]


def _measure(measure: Mapping[str, Any], total_codes: Mapping[str, list[dict]]) -> dict:
    if measure["kind"] == "instrument":
        concept: dict[str, Any] = {"text": f"{measure['instrument']} total score"}
        if total_codes.get(measure["instrument"]):
            concept["coding"] = total_codes[measure["instrument"]]
        return concept
    return {"text": " ".join(part for part in (measure.get("unit"), measure.get("per") and f"per {measure['per']}") if part)
            or measure["kind"]}


def _detail(measure: Mapping[str, Any], value: Any) -> dict:
    if measure["kind"] == "boolean":
        return {"detailBoolean": bool(value)}
    quantity = {"value": value, **SCORE_UNIT} if measure["kind"] == "instrument" else {"value": value}
    if measure["kind"] != "instrument" and measure.get("unit"):
        quantity["unit"] = measure["unit"]
    return {"detailQuantity": quantity}


def _targets(goal: Mapping[str, Any], total_codes: Mapping[str, list[dict]]) -> list[dict]:
    measure = goal["measure"]
    if not measure or measure.get("target") is None:
        return []
    concept = _measure(measure, total_codes)
    targets = [{"measure": concept, **_detail(measure, measure["target"])}]
    if goal["target_date"]:
        targets[0]["dueDate"] = goal["target_date"]
    for milestone in goal["milestones"]:
        marker = [{"url": "title", "valueString": milestone["title"]}]
        if milestone["reached_at"] is not None:
            marker.append({"url": "reached", "valueDateTime": instant(milestone["reached_at"])})
        target = {"extension": [{"url": MILESTONE, "extension": marker}], "measure": concept,
                  **_detail(measure, milestone["threshold"])}
        if milestone.get("due_date"):
            target["dueDate"] = milestone["due_date"]
        targets.append(target)
    return targets


def goal_resource(goal: Mapping[str, Any], entries: Iterable[Mapping[str, Any]],
                  total_codes: Mapping[str, list[dict]]) -> dict:
    """``goal``: as ``views.goal_view`` shows it; ``entries``: its latest progress entries."""
    resource: dict[str, Any] = {
        "resourceType": "Goal",
        "id": goal["id"],
        "meta": meta(goal["updated_at"]),
        "lifecycleStatus": LIFECYCLE[goal["status"]],
        "achievementStatus": {"coding": [{"system": ACHIEVEMENT_SYSTEM, "code": achievement(goal)}]},
        "description": {"text": goal["title"]},
        "subject": patient(goal["client_id"]),
        "statusDate": instant(status_changed(goal))[:10],
    }
    if goal["category"]:
        resource["category"] = [{"coding": [stepwise_coding("goal-categories", goal["category"])]}]
    if goal["start_date"]:
        resource["startDate"] = goal["start_date"]
    targets = _targets(goal, total_codes)
    if targets:
        resource["target"] = targets
    if goal["description"]:
        resource["note"] = [{"text": goal["description"]}]
    scores = [reference("Observation", entry["response_id"]) for entry in entries if entry.get("response_id")]
    if scores:
        resource["outcomeReference"] = scores
    if goal["subgoals"]:
        resource["extension"] = [
            {"url": GOAL_RELATIONSHIP, "extension": [
                {"url": "type", "valueCodeableConcept": {"coding": [{"system": RELATIONSHIP_TYPES, "code": "milestone"}]}},
                {"url": "target", "valueReference": reference("Goal", subgoal["id"])},
            ]}
            for subgoal in goal["subgoals"]
        ]
    return resource
