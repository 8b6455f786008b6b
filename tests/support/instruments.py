"""Instrument definitions the tests add as a clinic's own."""

# A clinic's licensed 4-item alliance measure (items and cut-offs invented for the test).
ALLIANCE = {
    "code": "alliance4",
    "name": "Session alliance check (4 items)",
    "version": "2",
    "items": [{"id": f"a{n}", "text": f"Alliance statement {n}", "min": 0, "max": 4} for n in range(1, 5)],
    "scoring": {"method": "sum", "range": [0, 16], "source": "Clinic licence terms"},
    "bands": [
        {"min": 0, "max": 8, "label": "at_risk", "source": "Clinic protocol"},
        {"min": 9, "max": 16, "label": "good", "source": "Clinic protocol"},
    ],
    "critical_items": [{"item": "a4", "above": 3, "flag": "rupture", "source": "Clinic protocol"}],
    "change": {"direction": "higher_is_better", "reliable_change": {"points": 4, "source": "Clinic protocol"}},
    "sources": [{"id": "clinic", "citation": "Clinic licence for the alliance check"}],
    "licence": {"text": "Licensed to this clinic only", "redistribute_items": False},
}
