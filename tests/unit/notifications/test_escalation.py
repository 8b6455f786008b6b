from datetime import datetime, timedelta, timezone

import pytest

from services.notifications.domain.escalation import (
    ACKNOWLEDGED,
    DELIVERED,
    ESCALATED,
    RAISED,
    InvalidTransition,
    acknowledge,
    escalate,
    escalation_intents,
    mark_delivered,
)
from services.notifications.domain.rendering import render

RAISED_AT = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
AFTER = timedelta(minutes=30)
RISK = {"response_id": "resp-1", "client_id": "client-1", "instrument": "phq9",
        "flags": [{"code": "self_harm_risk", "item": 9, "value": 2}]}


@pytest.fixture
def alert(make_event, raised_alert):
    return raised_alert("alert-1", make_event("risk.flagged", RISK), ["ther-1", "ther-2"], RAISED_AT)


def test_first_delivery_moves_the_alert_on_and_every_delivery_is_history(alert):
    once = mark_delivered(alert, "ther-1", "inbox", RAISED_AT + timedelta(seconds=1))
    twice = mark_delivered(once, "ther-2", "email", RAISED_AT + timedelta(seconds=5))

    assert once.status == twice.status == DELIVERED
    assert [(e.action, e.recipients, e.channel) for e in twice.history[1:]] == [
        (DELIVERED, ("ther-1",), "inbox"), (DELIVERED, ("ther-2",), "email")
    ]


def test_acknowledged_alert_is_not_escalated(alert):
    acked = acknowledge(alert, "ther-2", RAISED_AT + timedelta(minutes=5))

    assert acked.status == ACKNOWLEDGED
    assert (acked.history[-1].action, acked.history[-1].by) == (ACKNOWLEDGED, "ther-2")
    with pytest.raises(InvalidTransition):
        escalate(acked, ["admin-1"], RAISED_AT + timedelta(days=1))


def test_escalated_once_only(alert):
    now = RAISED_AT + AFTER
    escalated = escalate(alert, ["admin-1"], now)

    assert escalated.status == ESCALATED
    assert (escalated.history[-1].action, escalated.history[-1].recipients) == (ESCALATED, ("admin-1",))
    with pytest.raises(InvalidTransition):
        escalate(escalated, ["admin-1"], now + timedelta(hours=2))


def test_escalated_alert_can_still_be_acknowledged_once(alert):
    escalated = escalate(alert, ["admin-1"], RAISED_AT + AFTER)
    acked = acknowledge(escalated, "admin-1", RAISED_AT + AFTER + timedelta(minutes=3))

    assert acked.status == ACKNOWLEDGED
    assert [e.action for e in acked.history] == [RAISED, ESCALATED, ACKNOWLEDGED]
    with pytest.raises(InvalidTransition):
        acknowledge(acked, "ther-1", RAISED_AT + timedelta(hours=2))


def test_transitions_leave_the_original_record_unchanged(alert):
    acknowledge(alert, "ther-1", RAISED_AT)

    assert alert.status == RAISED
    assert len(alert.history) == 1


def test_escalation_tells_each_admin_urgently(alert):
    now = RAISED_AT + timedelta(minutes=42)

    intents = escalation_intents(alert, ["admin-1", "admin-2", "admin-1"], now)

    assert [(i.recipient_id, i.recipient_role) for i in intents] == [
        ("admin-1", "admin"), ("admin-2", "admin")
    ]
    for intent in intents:
        assert (intent.type, intent.priority, intent.template) == (
            "risk_alert_escalated", "urgent", "risk_alert_escalated"
        )
        assert intent.event_id == "evt-1/escalated"
        assert intent.context == {"alert_id": "alert-1", "raised_at": "2025-03-03T09:00:00.000Z",
                                  "waited_minutes": 42}


def test_escalation_renders_for_the_inbox(alert):
    [intent] = escalation_intents(alert, ["admin-1"], RAISED_AT + timedelta(minutes=42))

    rendered = render(intent, "inbox")

    assert rendered.title == "Unacknowledged risk alert for client client-1 — please act"
    assert "raised 3 March 2025 09:00 UTC" in rendered.text
    assert "within 42 minutes" in rendered.text
