"""Events as the other services publish them, built with the real envelope."""
from __future__ import annotations

import uuid

from shared.events.envelope import new_event

TENANT = "clinic-a"


def risk_flagged(client_id: str = "client-1", therapist_id: str | None = None, tenant: str = TENANT, time=None) -> dict:
    response_id = f"resp-{uuid.uuid4().hex[:8]}"
    return new_event(
        "risk.flagged",
        tenant=tenant,
        subject=response_id,
        time=time,
        data={
            "response_id": response_id,
            "client_id": client_id,
            "instrument": "phq9",
            "flags": [{"code": "self_harm_risk", "item": "9", "value": 2}],
            "therapist_id": therapist_id,
        },
    )


def questionnaire_due(client_id: str = "client-1", tenant: str = TENANT, time=None) -> dict:
    assignment_id = f"asg-{uuid.uuid4().hex[:8]}"
    return new_event(
        "questionnaire.due",
        tenant=tenant,
        subject=assignment_id,
        time=time,
        data={"assignment_id": assignment_id, "client_id": client_id, "instrument": "gad7", "due_at": "2025-03-04T09:00:00Z"},
    )


def questionnaire_assigned(client_id: str, assigned_by: str, tenant: str = TENANT) -> dict:
    assignment_id = f"asg-{uuid.uuid4().hex[:8]}"
    return new_event(
        "questionnaire.assigned",
        tenant=tenant,
        subject=assignment_id,
        data={"id": assignment_id, "client_id": client_id, "instrument": "phq9", "every_days": 14,
              "starts_at": "2025-03-03T09:00:00Z", "assigned_by": assigned_by},
    )


def goal_achieved(client_id: str = "client-1", tenant: str = TENANT) -> dict:
    goal_id = f"goal-{uuid.uuid4().hex[:8]}"
    return new_event("goal.achieved", tenant=tenant, subject=goal_id, data={"goal_id": goal_id, "client_id": client_id})
