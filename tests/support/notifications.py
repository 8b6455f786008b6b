"""The notifications service's settings for tests, and events as the other services publish
them, built with the real envelope: shared by the service and the integration tiers."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from services.notifications import config
from shared.events.envelope import new_event
from tests.support.harness import Harness

TENANT = "clinic-a"
# A Monday, 10:00 in London (GMT in March before the clocks change).
START = datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)
APP_BASE_URL = "https://app.clinic.example"


def notification_settings(harness: Harness, smtp_url: str, **overrides: str):
    values = {
        "SMTP_URL": smtp_url,
        "APP_BASE_URL": APP_BASE_URL,
        "DELIVERY_POLL_SECONDS": "0.1",
        "ESCALATION_POLL_SECONDS": "0.1",
        "ALERT_ESCALATE_AFTER_MINUTES": "30",
        "DELIVERY_RETRY_BASE_SECONDS": "10",
        "DELIVERY_RETRY_FACTOR": "3",
        "DELIVERY_MAX_ATTEMPTS": "3",
        "WEBHOOK_DISABLE_AFTER": "2",
        "WEBHOOK_TIMEOUT_SECONDS": "5",
        "MAX_BODY_BYTES": "8192",
        # The test receiver (tests.support.peers) is on 127.0.0.1 over http; hooks.clinic.example
        # is where the tests that list subscriptions register theirs (it resolves nowhere).
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1,hooks.clinic.example",
        **overrides,
    }
    return harness.settings(config.SERVICE, config.OPTIONS, **values)


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
