"""An alert's state, folded from its stored history.

The alert record is written once; what happens to it afterwards (delivered, acknowledged,
escalated) is appended as separate history entries, each made under a unique id so that two
people acknowledging at once, or an acknowledgement racing the escalation job, can never lose
one another's write. Its status is then never stored: it is replayed from the entries here,
through the same transitions (``escalation``) the rest of the service uses.
"""

from dataclasses import replace
from typing import Iterable

from services.notifications.domain.escalation import (
    ACKNOWLEDGED,
    DELIVERED,
    ESCALATED,
    Alert,
    HistoryEntry,
    InvalidTransition,
    acknowledge,
    escalate,
    mark_delivered,
)

# Entries made at the same instant are replayed in lifecycle order.
_ORDER = {DELIVERED: 0, ESCALATED: 1, ACKNOWLEDGED: 2}


def replay(alert: Alert, entries: Iterable[HistoryEntry]) -> Alert:
    """``alert`` (as raised) with ``entries`` applied in time order.

    A race can store an entry that the lifecycle would refuse, e.g. an escalation that was
    claimed just after someone acknowledged. It did happen (admins were told), so it stays in
    the history, but it does not move the status back.
    """
    for entry in sorted(entries, key=lambda e: (e.at, _ORDER.get(e.action, 9))):
        if entry.action == DELIVERED:
            if entry.channel is None:
                raise ValueError("a stored delivered entry names no channel")
            alert = mark_delivered(alert, entry.recipients[0], entry.channel, entry.at)
            continue
        try:
            if entry.action == ACKNOWLEDGED:
                if entry.by is None:
                    raise ValueError("a stored acknowledged entry names no one")
                alert = acknowledge(alert, entry.by, entry.at, entry.note, entry.action_taken)
            elif entry.action == ESCALATED:
                alert = escalate(alert, list(entry.recipients), entry.at)
            else:
                raise ValueError(f"unknown alert action {entry.action!r}")
        except InvalidTransition:
            alert = replace(alert, history=alert.history + (entry,))
    return alert


def entry(alert: Alert, action: str) -> HistoryEntry | None:
    """The first history entry of ``action``, if any."""
    return next((e for e in alert.history if e.action == action), None)
