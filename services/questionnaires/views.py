"""Stored records as the API shows them (the schemas in ``api/schemas.py`` describe these shapes)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

from services.questionnaires.adapters.instruments import CatalogueEntry
from services.questionnaires.domain import Instrument, Occurrence, SeriesEnds
from services.questionnaires.domain.assignments import AssignmentState
from services.questionnaires.domain.change import RECOVERY_SOURCE, Recovery
from services.questionnaires.domain.model import Threshold
from services.questionnaires.domain.outcomes import CATEGORIES, DENOMINATORS, Tally
from shared.charts import Band, Bar, BarChart, Chart, Level, Mark, Point


def instrument_view(entry: CatalogueEntry) -> dict[str, Any]:
    return {
        **entry.instrument.to_dict(),
        "builtin": entry.builtin,
        "created_at": entry.created_at,
        "created_by": entry.created_by,
    }


def response_view(response: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": response["_id"],
        "client_id": response["client_id"],
        "instrument": response["instrument"],
        "instrument_version": response["instrument_version"],
        "answers": {answer["item"]: answer["value"] for answer in response["answers"]},
        "completed_at": response["completed_at"],
        "submitted_at": response["created_at"],
        "submitted_by": response["submitted_by"],
        "therapist_id": response.get("therapist_id"),
        "assignment_id": response.get("assignment_id"),
        "occurrence": response.get("occurrence"),
        "seq": response["seq"],
        "baseline": response["baseline"],
        "score": response["score"],
        "change": response["change"],
        # Responses stored before the rule existed have none: not known.
        "expected_recovery": response.get("expected_recovery"),
    }


def _cut_off(threshold: Threshold | None) -> dict[str, Any] | None:
    if threshold is None:
        return None
    return {"at_or_above": threshold.at_or_above, "below": threshold.below}


def series_view(instrument: Instrument, responses: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One instrument's line on a chart: its axis, bands and cut-offs, and a point per response
    (``responses`` oldest completed first, as ``ResponseStore.series`` reads them)."""
    rules = instrument.change
    return {
        "instrument": instrument.code,
        "name": instrument.name,
        "range": list(instrument.scoring.range),
        "direction": rules.direction if rules else None,
        "bands": [{"label": band.label, "min": band.min, "max": band.max} for band in instrument.bands],
        "caseness": _cut_off(rules.caseness if rules else None),
        "remission": _cut_off(rules.remission if rules else None),
        "reliable_change_threshold": rules.reliable_change.threshold if rules and rules.reliable_change else None,
        "points": [
            {
                "response_id": response["_id"],
                "completed_at": response["completed_at"],
                "total": response["score"]["total"],
                "severity": response["score"]["severity"],
                "flags": response["score"]["flags"],
                "baseline": response["baseline"],
                "change": response["change"],
                "expected_recovery": response.get("expected_recovery"),
            }
            for response in responses
        ],
    }



def _caseness_level(caseness: Mapping[str, Any] | None) -> list[Level]:
    if caseness is None:
        return []
    if caseness["at_or_above"] is not None:
        return [Level("caseness at or above", caseness["at_or_above"], "caseness")]
    return [Level("caseness below", caseness["below"], "caseness")]


def trajectory_chart(client_id: str, series: Mapping[str, Any], due: Iterable[datetime], now: datetime) -> Chart:
    """``series`` (a ``series_view``) as a chart: the instrument's bands and caseness cut-off, the
    corridor of no reliable change around the current baseline, each point marked by its change
    category, and the assignments' due dates."""
    points = series["points"]
    baseline = points[-1]["change"]["baseline_total"] if points else None
    threshold = series["reliable_change_threshold"]
    corridor = None
    if baseline is not None and threshold is not None:
        corridor = Band(f"no reliable change (less than {threshold:g} from baseline {baseline:g})",
                        baseline - threshold, baseline + threshold)
    return Chart(
        title=f"{series['name']}: scores of {client_id}",
        summary=f"{series['name']} total scores of client {client_id} over time, "
                f"{len(points)} response(s), scored from {series['range'][0]:g} to {series['range'][1]:g}.",
        value_label="total score",
        value_range=(series["range"][0], series["range"][1]),
        now=now,
        points=[
            Point(point["completed_at"], point["total"], _category(point), _note(point))
            for point in points
        ],
        bands=[Band(band["label"], band["min"], band["max"]) for band in series["bands"]],
        corridor=corridor,
        levels=_caseness_level(series["caseness"]),
        marks=[Mark(moment, f"due {moment:%Y-%m-%d}") for moment in sorted(set(due))],
        empty=f"No {series['name']} responses yet.",
    )


def _note(point: Mapping[str, Any]) -> str:
    """What the text alternative says after a point's value: its band, and when it is reliably
    worse than expected by then, that it is not on track."""
    expected = point["expected_recovery"]
    parts = [point["severity"] or ""]
    if expected and expected["not_on_track"]:
        parts.append(f"not on track (expected {expected['expected_total']:g} or better)")
    return "; ".join(part for part in parts if part)


def _category(point: Mapping[str, Any]) -> str:
    """``baseline``, the reliable change from the baseline, or ``unrated`` without one."""
    if point["baseline"]:
        return "baseline"
    return point["change"]["reliable_change"] or "unrated"

def _ends_view(ends: SeriesEnds | None) -> dict[str, Any] | None:
    if ends is None:
        return None
    return {
        "instrument": ends.instrument.code,
        "baseline_response_id": ends.baseline.response_id,
        "baseline_total": ends.baseline.total,
        "final_response_id": ends.final.response_id,
        "final_total": ends.final.total,
        "responses": ends.responses,
    }


def recovery_view(
    client_id: str, depression: SeriesEnds | None, anxiety: SeriesEnds | None, outcome: Recovery | None, reason: str | None
) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "depression": _ends_view(depression),
        "anxiety": _ends_view(anxiety),
        "outcome": outcome.to_dict() if outcome else None,
        "reason": reason,
    }


def outcomes_view(instrument: Instrument, tally: Tally, filters: Mapping[str, Any]) -> dict[str, Any]:
    """A clinic's outcomes on one instrument: each category's count, its share of its
    denominator and which denominator that is, the denominators, and the filters applied."""
    return {
        "instrument": instrument.code,
        "filters": dict(filters),
        "denominators": tally.denominators,
        "outcomes": {
            category: {"count": tally.counts[category], "percent": tally.share(category), "of": DENOMINATORS[category]}
            for category in CATEGORIES
        },
        "reliable_change_threshold": (
            instrument.change.reliable_change.threshold
            if instrument.change is not None and instrument.change.reliable_change is not None else None
        ),
        "source": RECOVERY_SOURCE,
    }


# How each outcome category is drawn: its bar's colour (a marker category of shared.charts).
_OUTCOME_BARS = {
    "reliable_improvement": "improved",
    "reliable_recovery": "recovered",
    "no_reliable_change": "none",
    "deterioration": "deteriorated",
    "not_enough_data": "unrated",
}


def outcomes_chart(instrument: Instrument, view: Mapping[str, Any]) -> BarChart:
    """``view`` (an ``outcomes_view``) as a bar per category, each with its share of its denominator."""
    applied = [f"{name} {value}" for name, value in view["filters"].items() if value is not None and name != "instrument"]
    denominators = view["denominators"]
    bars = []
    for category, outcome in view["outcomes"].items():
        whole = denominators[outcome["of"]]
        share = f"{outcome['percent']:g}% of {whole}" if outcome["percent"] is not None else f"of {whole}"
        bars.append(Bar(category.replace("_", " "), outcome["count"], _OUTCOME_BARS[category],
                        share if whole is not None else "no caseness rule"))
    return BarChart(
        title=f"{instrument.name} outcomes",
        summary=(f"Outcomes of {denominators['clients']} clients on {instrument.name}, baseline to latest score"
                 + (f" ({', '.join(applied)})" if applied else "") + "; reliable recovery is part of reliable improvement."),
        value_label="clients",
        bars=bars,
        empty=f"No {instrument.name} scores match.",
    )


def _occurrence_view(found: Occurrence | None, status: str | None, fulfilment: Mapping[str, Any] | None):
    if found is None:
        return None
    return {
        "index": found.index,
        "due_at": found.due_at,
        "overdue_at": found.overdue_at,
        "closes_at": found.closes_at,
        "status": status,
        "response_id": fulfilment["response_id"] if fulfilment else None,
    }


def assignment_view(
    assignment: Mapping[str, Any],
    state: AssignmentState,
    fulfilment: Mapping[str, Any] | None,
    cancellation: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """``fulfilment``: of the current occurrence, if any."""
    return {
        "id": assignment["_id"],
        "client_id": assignment["client_id"],
        "instrument": assignment["instrument"],
        "every_days": assignment["every_days"],
        "starts_at": assignment["starts_at"],
        "ends_at": assignment.get("ends_at"),
        "assigned_by": assignment["assigned_by"],
        "therapist_id": assignment.get("therapist_id"),
        "created_at": assignment["created_at"],
        "status": state.status,
        "current": _occurrence_view(state.current, state.current_status, fulfilment),
        "next": _occurrence_view(state.next, "upcoming" if state.next else None, None),
        "next_due_at": state.next_due_at,
        "cancellation": cancellation and {key: cancellation[key] for key in ("cancelled_at", "cancelled_by", "reason")},
    }
