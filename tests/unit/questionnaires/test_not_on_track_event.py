"""``questionnaire.not_on_track`` as the questionnaires service raises it: one id per response."""
from __future__ import annotations

from datetime import datetime, timezone

from services.questionnaires import events
from shared.events.registry import undeclared_fields

NOW = datetime(2026, 3, 30, 9, 0, tzinfo=timezone.utc)


def response(response_id: str = "resp-2") -> dict:
    return {
        "_id": response_id, "client_id": "client-1", "instrument": "phq9", "therapist_id": "therapist-1",
        "completed_at": NOW, "score": {"total": 21},
        "compared_with": {"baseline": {"response_id": "resp-1", "total": 20}},
        "expected_recovery": {"baseline_total": 20, "weeks_since_baseline": 12.0, "expected_total": 15,
                              "worse_than_expected_by": 6, "reliable_change_threshold": 6, "not_on_track": True},
    }


def test_its_id_is_derived_from_the_tenant_and_the_response():
    first = events.not_on_track("clinic-a", response(), NOW)
    again = events.not_on_track("clinic-a", response(), NOW)

    assert first["id"] == again["id"]
    assert events.not_on_track("clinic-a", response("resp-3"), NOW)["id"] != first["id"]
    assert events.not_on_track("clinic-b", response(), NOW)["id"] != first["id"]


def test_it_carries_the_comparison_and_only_declared_fields():
    event = events.not_on_track("clinic-a", response(), NOW)

    assert event["type"] == "stepwise.questionnaire.not_on_track.v1"
    assert event["subject"] == "resp-2"
    assert event["data"] == {
        "response_id": "resp-2", "client_id": "client-1", "instrument": "phq9", "therapist_id": "therapist-1",
        "completed_at": "2026-03-30T09:00:00.000Z", "total": 21, "baseline_response_id": "resp-1",
        "baseline_total": 20, "weeks_since_baseline": 12.0, "expected_total": 15, "worse_than_expected_by": 6,
        "reliable_change_threshold": 6,
    }
    assert not undeclared_fields("questionnaire.not_on_track", event["data"])
