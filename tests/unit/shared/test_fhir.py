"""shared.fhir: what a _lastUpdated value matches, and OperationOutcomes."""
from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from shared.fhir import Bounds, PatientSearchQuery, date_bounds
from shared.fhir_errors import operation_outcome


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, lower, upper", [
    ("2026-01-31", utc(2026, 1, 31), utc(2026, 2, 1)),          # eq: the whole day
    ("eq2026-12", utc(2026, 12, 1), utc(2027, 1, 1)),           # a month, across a year's end
    ("2026", utc(2026, 1, 1), utc(2027, 1, 1)),
    ("ge2026-01-31", utc(2026, 1, 31), None),
    ("gt2026-01-31", utc(2026, 2, 1), None),                     # after the whole day
    ("le2026-01-31", None, utc(2026, 2, 1)),                     # up to the day's end
    ("lt2026-01-31", None, utc(2026, 1, 31)),
    ("ge2026-01-31T09:00:00Z", utc(2026, 1, 31, 9), None),
    ("lt2026-01-31T10:00:00+01:00", None, utc(2026, 1, 31, 9)),  # read in UTC
    ("gt2026-01-31T09:00:00", utc(2026, 1, 31, 9, 0, 1), None),   # no zone: UTC; to the second
])
def test_a_date_search_matches_the_instants_its_prefix_and_precision_say(text, lower, upper):
    assert date_bounds(text) == Bounds(lower, upper)


@pytest.mark.parametrize("text", ["yesterday", "2026-1-31", "ne2026-01-31", "ap2026", "2026-02-30", "ge2026-01-31Tnoon"])
def test_a_date_search_it_cannot_read_is_refused(text):
    with pytest.raises(ValueError):
        date_bounds(text)


def test_repeated_values_narrow_to_one_range_and_none_means_no_filter():
    loaded = PatientSearchQuery().load({"_lastUpdated": ["ge2026-01-01", "lt2026-02-01", "ge2026-01-15"]})
    assert loaded["updated"] == Bounds(utc(2026, 1, 15), utc(2026, 2, 1))
    assert loaded["updated"].condition() == {"$gte": utc(2026, 1, 15), "$lt": utc(2026, 2, 1)}
    assert loaded["updated"].contains(utc(2026, 1, 20)) and not loaded["updated"].contains(utc(2026, 2, 1))
    assert PatientSearchQuery().load({})["updated"] is None


@pytest.mark.parametrize("given, expected", [("Patient/ada", "ada"), ("ada", "ada")])
def test_a_patient_is_named_by_reference_or_id(given, expected):
    assert PatientSearchQuery().load({"patient": given})["patient"] == expected


@pytest.mark.parametrize("given", ["Group/ada", "Patient/", "ada\x00"])
def test_anything_else_is_not_a_patient(given):
    with pytest.raises(ValidationError) as refused:
        PatientSearchQuery().load({"patient": given})
    assert "patient" in refused.value.messages


def test_an_operation_outcome_names_each_wrong_field_or_else_says_the_detail():
    named = operation_outcome(422, "Invalid value for: _count", {"_count": ["Must be at least 1."]})
    assert named["issue"] == [{"severity": "error", "code": "invalid", "diagnostics": "_count: Must be at least 1."}]
    plain = operation_outcome(401, "Not authenticated: send a bearer token", None)
    assert plain["issue"] == [{"severity": "error", "code": "login", "diagnostics": "Not authenticated: send a bearer token"}]
