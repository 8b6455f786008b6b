from datetime import datetime, timedelta, timezone

import pytest

from services.notifications.domain.alert_log import entry, replay
from services.notifications.domain.escalation import (
    ACKNOWLEDGED,
    DELIVERED,
    ESCALATED,
    RAISED,
    HistoryEntry,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
RISK = {"response_id": "r-1", "client_id": "c-1", "instrument": "phq9",
        "flags": [{"code": "self_harm_risk", "item": 9, "value": 1}]}


@pytest.fixture
def raised(make_event, raised_alert):
    return raised_alert("a-1", make_event("risk.flagged", RISK), ["t-1", "t-2"], T0)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def test_no_entries_leave_the_alert_raised(raised):
    assert replay(raised, []).status == RAISED


def test_entries_are_replayed_in_time_order_whatever_order_they_are_read_in(raised):
    entries = [
        HistoryEntry(ACKNOWLEDGED, at(5), by="t-2"),
        HistoryEntry(DELIVERED, at(0), recipients=("t-1",), channel="inbox"),
        HistoryEntry(DELIVERED, at(1), recipients=("t-1",), channel="email"),
    ]

    alert = replay(raised, entries)

    assert alert.status == ACKNOWLEDGED
    assert [(e.action, e.channel) for e in alert.history] == [
        (RAISED, None), (DELIVERED, "inbox"), (DELIVERED, "email"), (ACKNOWLEDGED, None)
    ]
    assert entry(alert, ACKNOWLEDGED).by == "t-2"


def test_an_escalation_then_an_acknowledgement(raised):
    alert = replay(raised, [
        HistoryEntry(ESCALATED, at(30), recipients=("admin-1",)),
        HistoryEntry(ACKNOWLEDGED, at(40), by="admin-1"),
    ])

    assert alert.status == ACKNOWLEDGED
    assert entry(alert, ESCALATED).recipients == ("admin-1",)


def test_an_escalation_that_raced_an_acknowledgement_stays_in_history_without_reopening(raised):
    alert = replay(raised, [
        HistoryEntry(ACKNOWLEDGED, at(30), by="t-1"),
        HistoryEntry(ESCALATED, at(30), recipients=("admin-1",)),
    ])

    assert alert.status == ACKNOWLEDGED
    assert [e.action for e in alert.history] == [RAISED, ESCALATED, ACKNOWLEDGED]


def test_a_late_escalation_after_acknowledgement_is_kept_as_history(raised):
    alert = replay(raised, [
        HistoryEntry(ACKNOWLEDGED, at(29), by="t-1"),
        HistoryEntry(ESCALATED, at(31), recipients=("admin-1",)),
    ])

    assert alert.status == ACKNOWLEDGED
    assert [e.action for e in alert.history] == [RAISED, ACKNOWLEDGED, ESCALATED]


def test_entry_is_none_when_the_action_never_happened(raised):
    assert entry(raised, ESCALATED) is None


def test_an_acknowledgement_keeps_its_note_and_action_taken(raised):
    acknowledged = HistoryEntry(ACKNOWLEDGED, at(5), by="t-1", note="Spoke with the client",
                                action_taken="safety plan reviewed")
    alert = replay(raised, [acknowledged])

    assert alert.status == ACKNOWLEDGED
    assert entry(alert, ACKNOWLEDGED) == acknowledged
