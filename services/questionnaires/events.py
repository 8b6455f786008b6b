"""The questionnaire.* and risk.flagged events, built from the records that carry them.

Each names the client and, when it is known, the therapist responsible (``therapist_id``;
``assigned_by`` on ``questionnaire.assigned``), which the notifications service adds to the
client's care team and tells about risk and deterioration.

A client's events are published in the order they were stored (their records are stored with
the client's id as ordering key: ``shared.events.outbox.with_events``), so a subscriber sees a
client's scores in series order.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Mapping

from shared.clock import rfc3339
from shared.events.envelope import new_event

# Reminder events get ids derived from their claim, so the same reminder always has one id.
_REMINDER_NAMESPACE = uuid.UUID("2f0f8f7e-5b0c-4c41-9a55-5e3c8f1f7a10")
# A not-on-track signal gets an id derived from its response: one per response, however raised.
_NOT_ON_TRACK_NAMESPACE = uuid.UUID("8d4c1b52-3f0e-4a7c-9a61-0e2b7f5d9c34")


def _iso(moment: datetime | None) -> str | None:
    return rfc3339(moment) if moment is not None else None


def scored(tenant: str, response: Mapping[str, Any], now: datetime) -> dict:
    data = {
        "response_id": response["_id"],
        "client_id": response["client_id"],
        "instrument": response["instrument"],
        "score": response["score"],
        "change": response["change"],
        "therapist_id": response.get("therapist_id"),
        "completed_at": rfc3339(response["completed_at"]),
        "assignment_id": response.get("assignment_id"),
    }
    return new_event("questionnaire.scored", tenant=tenant, subject=response["_id"], data=data, time=now)


def risk_flagged(tenant: str, response: Mapping[str, Any], now: datetime) -> dict:
    """Raised with the scored response itself, so an alert never waits for anything else."""
    data = {
        "response_id": response["_id"],
        "client_id": response["client_id"],
        "instrument": response["instrument"],
        "flags": response["score"]["flags"],
        "therapist_id": response.get("therapist_id"),
        "completed_at": rfc3339(response["completed_at"]),
        "total": response["score"]["total"],
        "severity": response["score"]["severity"],
    }
    return new_event("risk.flagged", tenant=tenant, subject=response["_id"], data=data, time=now)


def not_on_track(tenant: str, response: Mapping[str, Any], now: datetime) -> dict:
    """A follow-up reliably worse than the instrument's expected-recovery rule expects by now."""
    expected = response["expected_recovery"]
    data = {
        "response_id": response["_id"],
        "client_id": response["client_id"],
        "instrument": response["instrument"],
        "therapist_id": response.get("therapist_id"),
        "completed_at": rfc3339(response["completed_at"]),
        "total": response["score"]["total"],
        "baseline_response_id": response["compared_with"]["baseline"]["response_id"],
        "baseline_total": expected["baseline_total"],
        "weeks_since_baseline": expected["weeks_since_baseline"],
        "expected_total": expected["expected_total"],
        "worse_than_expected_by": expected["worse_than_expected_by"],
        "reliable_change_threshold": expected["reliable_change_threshold"],
    }
    return new_event(
        "questionnaire.not_on_track",
        tenant=tenant,
        subject=response["_id"],
        data=data,
        time=now,
        event_id=str(uuid.uuid5(_NOT_ON_TRACK_NAMESPACE, f"{tenant}\x1f{response['_id']}")),
    )


def assigned(tenant: str, assignment: Mapping[str, Any], now: datetime) -> dict:
    data = {
        "id": assignment["_id"],
        "client_id": assignment["client_id"],
        "instrument": assignment["instrument"],
        "every_days": assignment["every_days"],
        "starts_at": rfc3339(assignment["starts_at"]),
        "ends_at": _iso(assignment.get("ends_at")),
        "assigned_by": assignment["assigned_by"],
        "therapist_id": assignment.get("therapist_id"),
    }
    return new_event("questionnaire.assigned", tenant=tenant, subject=assignment["_id"], data=data, time=now)


def due(reminder: Mapping[str, Any], assignment: Mapping[str, Any], now: datetime) -> dict:
    """``questionnaire.due`` for one occurrence; ``kind`` is ``due`` or ``overdue``."""
    data = {
        "assignment_id": assignment["_id"],
        "client_id": assignment["client_id"],
        "instrument": assignment["instrument"],
        "due_at": rfc3339(reminder["due_at"]),
        "therapist_id": assignment.get("therapist_id"),
        "kind": reminder["kind"],
        "occurrence": reminder["index"],
        "overdue_at": _iso(reminder.get("overdue_at")),
        "closes_at": _iso(reminder.get("closes_at")),
    }
    return new_event(
        "questionnaire.due",
        tenant=assignment["tenant"],
        subject=assignment["_id"],
        data=data,
        time=now,
        event_id=str(uuid.uuid5(_REMINDER_NAMESPACE, f"{assignment['tenant']}\x1f{reminder['_id']}")),
    )


def instrument_defined(tenant: str, record: Mapping[str, Any], now: datetime) -> dict:
    """Raised with a clinic's instrument, so that goals can accept goals measured by it."""
    definition = record["definition"]
    data = {
        "code": record["code"],
        "name": definition["name"],
        "version": definition.get("version"),
        "score_range": list(definition["scoring"]["range"]),
    }
    return new_event("instrument.defined", tenant=tenant, subject=record["code"], data=data, time=now)
