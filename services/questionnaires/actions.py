"""What the questionnaires service does for its routes: score and store responses, make and
cancel assignments, and read back trajectories, outcomes and assignment states.

Every write is an insert (see the README, "Storage") but a series' summary, rewritten whole
from the series; every read is an equality lookup of one client's records, one tenant's period
of a list, a tenant's series summaries on one instrument (one per client), or a record by id.
Bad input raises ``Problem`` before anything is written.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import Any, Mapping

from pymongo.errors import DuplicateKeyError

from services.questionnaires import events
from services.questionnaires.adapters.assignments import (
    AssignmentStore, Facts, ReminderLedger, occurrence_key, schedule_of,
)
from services.questionnaires.adapters.instruments import Catalogue, CatalogueEntry, CodeTaken
from services.questionnaires.adapters.outcomes import SeriesSummaries, TherapistLinks, ends_of
from services.questionnaires.adapters.responses import ResponseStore, link_of
from services.questionnaires.domain import (
    AnswerError,
    Instrument,
    Link,
    Placement,
    Reference,
    Schedule,
    SeriesEntry,
    assess_change,
    due_dates,
    has_recovery_rules,
    occurrence_at,
    place,
    recovery_so_far,
    score,
    series_ends,
)
from services.questionnaires.domain.assignments import assignment_state
from services.questionnaires.domain.expected import track
from services.questionnaires.domain.outcomes import can_tally, tally
from services.questionnaires.jobs import plan_reminders
from services.questionnaires.views import (
    assignment_view,
    outcomes_chart,
    outcomes_view,
    recovery_view,
    series_view,
    trajectory_chart,
)
from shared.auth import Principal
from shared.charts import BarChart, Chart
from shared.clock import is_future
from shared.errors import Problem, invalid
from shared.events.outbox import with_events
from shared.mongo import CLAIM_ATTEMPTS, Database

# Times further from now than this are mistakes, and near year 1 or 9999 schedule arithmetic
# would overflow.
REACH = timedelta(days=100 * 366)
# A chart marks at most this many due dates of one assignment (the latest): a year of weekly ones.
DUE_DATES_SHOWN = 53


def to_millis(moment: datetime) -> datetime:
    """MongoDB keeps milliseconds; so do we, so a time reads back as it was used."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def a_time(field: str, moment: datetime, now: datetime) -> datetime:
    """``moment`` to the millisecond, or 422 when it is not within a century of ``now``."""
    if abs(moment - now) > REACH:
        raise invalid({field: ["must be within a hundred years of now"]})
    return to_millis(moment)


def normalized_answers(instrument: Instrument, answers: Any) -> list[dict[str, Any]]:
    """``[{item, value}]`` in item order, every item present (value None: left out). Call after
    scoring, which has checked them. Not an object keyed by item id: an id may hold a ``.``,
    which a stored key may not."""
    if isinstance(answers, list):
        values = dict(zip((item.id for item in instrument.items), answers, strict=True))
    else:
        values = {item.id: answers.get(item.id) for item in instrument.items}
    return [{"item": item.id, "value": values[item.id]} for item in instrument.items]


def _answered(facts: Facts, assignment_id: str, index: int) -> bool:
    """Whether occurrence ``index`` of the assignment was answered."""
    return occurrence_key(assignment_id, index) in facts.fulfilments


def _cursor(code: str) -> str:
    return base64.urlsafe_b64encode(code.encode()).decode().rstrip("=")


def _after(cursor: str) -> str:
    try:
        code = base64.b64decode((cursor + "=" * (-len(cursor) % 4)).encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        code = ""
    if not code:
        raise Problem(422, "The cursor is not one this service gave out", errors={"cursor": ["invalid cursor"]})
    return code


def page_by_code(entries: list[CatalogueEntry], limit: int, cursor: str | None) -> tuple[list[CatalogueEntry], str | None]:
    """A page of ``entries`` (sorted by code) after ``cursor``, and the next page's cursor."""
    if cursor:
        after = _after(cursor)
        entries = [entry for entry in entries if entry.instrument.code > after]
    found = entries[:limit]
    return found, _cursor(found[-1].instrument.code) if len(entries) > limit else None


@dataclass
class Questionnaires:
    """What one caller may see and do, at one moment."""

    database: Database
    principal: Principal
    now: datetime
    grace: timedelta

    @property
    def tenant(self) -> str:
        return self.principal.tenant

    @cached_property
    def catalogue(self) -> Catalogue:
        return Catalogue(self.database, self.tenant)

    @cached_property
    def responses(self) -> ResponseStore:
        return ResponseStore(self.database, self.principal.scope)

    @cached_property
    def assignments(self) -> AssignmentStore:
        return AssignmentStore(self.database, self.principal.scope)

    @cached_property
    def reminders(self) -> ReminderLedger:
        return ReminderLedger(self.database)

    @cached_property
    def summaries(self) -> SeriesSummaries:
        return SeriesSummaries(self.database, self.principal.scope)

    @cached_property
    def therapist_links(self) -> TherapistLinks:
        return TherapistLinks(self.database, self.principal.scope)

    def add_instrument(self, instrument: Instrument) -> tuple[CatalogueEntry, bool]:
        """Add the clinic's own instrument; 409 when its code is a built-in's or already used."""
        try:
            return self.catalogue.add(instrument, self.principal.sub, self.now)
        except CodeTaken as exc:
            raise Problem(409, str(exc)) from None

    def instrument(self, code: str, field: str = "instrument") -> CatalogueEntry:
        entry = self.catalogue.get(code)
        if entry is None:
            raise invalid({field: [f"no instrument {code!r} here; GET /v1/instruments lists them"]})
        return entry

    def therapist_for(self, assignment: Mapping[str, Any] | None) -> str | None:
        """The therapist to tell about a response: one submitting it, else the assignment's."""
        if self.principal.role == "therapist":
            return self.principal.sub
        return assignment.get("therapist_id") if assignment else None

    # Responses

    def submit(self, data: Mapping[str, Any], route: str) -> tuple[dict, bool]:
        """Score and store a response once (per Idempotency-Key); ``(response, created)``."""
        instrument = self.instrument(data["instrument"]).instrument
        record, assignment = self.new_response(instrument, data)
        response, created = self._store_in_series(instrument, record, data["baseline"], route, data)
        # Also on a retried request: the first attempt may have stopped before these.
        if assignment is not None and response.get("occurrence") is not None:
            self.assignments.fulfil(assignment, response["occurrence"], response)
        if response["therapist_id"] is not None:
            self.therapist_links.link(response["client_id"], response["therapist_id"], self.now)
        self.summaries.refresh(self.responses, response["client_id"], instrument.code, link_of(response))
        return response, created

    def new_response(self, instrument: Instrument, data: Mapping[str, Any]) -> tuple[dict, dict | None]:
        """The scored response to ``instrument`` that ``data`` submits, before it has a place in
        its series, and the assignment it answers (None when it names none)."""
        try:
            scored = score(instrument, data["answers"]).to_dict()
        except AnswerError as exc:
            raise invalid(exc.errors) from None
        completed_at = a_time("completed_at", data.get("completed_at") or self.now, self.now)
        if is_future(completed_at, self.now):
            raise invalid({"completed_at": ["must not be in the future"]})
        client_id = data["client_id"]
        assignment, index = self._answered_occurrence(data.get("assignment_id"), client_id, instrument.code, completed_at)
        record = {
            "client_id": client_id,
            "instrument": instrument.code,
            "instrument_version": instrument.version,
            "answers": normalized_answers(instrument, data["answers"]),
            "completed_at": completed_at,
            "created_at": self.now,
            "submitted_by": self.principal.sub,
            "therapist_id": self.therapist_for(assignment),
            "assignment_id": assignment["_id"] if assignment else None,
            "occurrence": index,
            "score": scored,
        }
        return record, assignment

    def _store_in_series(
        self, instrument: Instrument, record: dict, mark_baseline: bool, route: str, body: Mapping[str, Any]
    ) -> tuple[dict, bool]:
        """Insert the response at the next place of the client's series on the instrument. The
        insert claims the place (``series_seq``); when another response took it first, read the
        latest again and place this one after it."""
        client_id = record["client_id"]
        latest = self.responses.latest(client_id, instrument.code)
        # Two submissions for the same client and instrument at the same moment are rare.
        for _ in range(CLAIM_ATTEMPTS):

            def build(response_id: str, latest: Link | None = latest) -> dict:
                return self.placed_response(instrument, record, latest, mark_baseline, response_id)

            try:
                return self.responses.create(route, body, build)
            except DuplicateKeyError:
                # Another response took this place first: place this one after the latest.
                latest = self.responses.latest(client_id, instrument.code)
        raise Problem(409, "Other responses for this client and instrument were being stored at the same time; try again")

    def placed_response(
        self, instrument: Instrument, record: dict, latest: Link | None, mark_baseline: bool, response_id: str
    ) -> dict:
        """The response document for ``record`` placed after the series' ``latest``, with its
        change from that place's baseline and previous response."""
        placement = place(latest, mark_baseline)
        change = assess_change(
            instrument,
            record["score"]["total"],
            placement.baseline.total if placement.baseline else None,
            placement.previous.total if placement.previous else None,
        ).to_dict()
        del change["total"]  # the score has it
        baseline = placement.baseline
        expected = track(
            instrument,
            record["score"]["total"],
            baseline.total if baseline else None,
            baseline.completed_at if baseline else None,
            record["completed_at"],
        )
        return self._scored_response(record, response_id, placement, change, expected.to_dict() if expected is not None else None)

    def _scored_response(
        self, record: dict, response_id: str, placement: Placement, change: dict, expected: dict | None
    ) -> dict:
        """The response document, carrying ``questionnaire.scored``; before it, for a flagged
        answer, ``risk.flagged``, so an alert goes out with the response itself; after it, for a
        score reliably worse than expected, ``questionnaire.not_on_track``."""
        response = {
            **record,
            "_id": response_id,
            "seq": placement.seq,
            "baseline": placement.is_baseline,
            "compared_with": {
                "baseline": placement.baseline and placement.baseline.to_dict(),
                "previous": placement.previous and placement.previous.to_dict(),
            },
            "change": change,
            "expected_recovery": expected,
        }
        raised = [events.scored(self.tenant, response, self.now)]
        if response["score"]["flags"]:
            raised.insert(0, events.risk_flagged(self.tenant, response, self.now))
        if expected is not None and expected["not_on_track"]:
            raised.append(events.not_on_track(self.tenant, response, self.now))
        return with_events(response, raised, self.now, ordering_key=response["client_id"])

    def _answered_occurrence(
        self, assignment_id: str | None, client_id: str, code: str, completed_at: datetime
    ) -> tuple[dict | None, int | None]:
        """The assignment a response answers, and the occurrence open when it was completed
        (None when it was cancelled or the response falls outside its schedule)."""
        if assignment_id is None:
            return self._open_occurrence(client_id, code, completed_at)
        assignment = self.assignments.get(assignment_id)
        if assignment is None:
            raise invalid({"assignment_id": ["no such assignment"]})
        if assignment["client_id"] != client_id:
            raise invalid({"assignment_id": ["this assignment is for another client"]})
        if assignment["instrument"] != code:
            raise invalid({"assignment_id": [f"this assignment is for {assignment['instrument']}, not {code}"]})
        cancellation = self.assignments.cancellation(assignment_id)
        if cancellation is not None and cancellation["cancelled_at"] <= completed_at:
            return assignment, None
        found = occurrence_at(schedule_of(assignment, self.grace), completed_at)
        return assignment, found.index if found else None

    def _open_occurrence(self, client_id: str, code: str, completed_at: datetime) -> tuple[dict | None, int | None]:
        """For a response sent without ``assignment_id``: the client's open, unanswered occurrence
        of an assignment of the same instrument (the one that opened first, when several are
        open), or ``(None, None)``. A client who fills in a PHQ-9 from the app's home page has
        done what the assignment asked, and must not be reminded of it minutes later."""
        facts = self.assignments.facts(client_id)
        open_ones = []
        for assignment in self.assignments.of_instrument(client_id, code):
            cancellation = facts.cancellations.get(assignment["_id"])
            if cancellation is not None and cancellation["cancelled_at"] <= completed_at:
                continue
            found = occurrence_at(schedule_of(assignment, self.grace), completed_at)
            if found is not None and occurrence_key(assignment["_id"], found.index) not in facts.fulfilments:
                open_ones.append((found.opens_at, assignment["_id"], assignment, found.index))
        if not open_ones:
            return None, None
        _, _, assignment, index = min(open_ones, key=lambda candidate: candidate[:2])
        return assignment, index

    def trajectory(self, client_id: str, code: str | None) -> list[dict]:
        """A series per instrument (one, when ``code`` is given), ready to chart."""
        if code is not None:
            entry = self.instrument(code)
            return [series_view(entry.instrument, self.responses.series(client_id, code))]
        by_code: dict[str, list[dict]] = {}
        for response in self.responses.series(client_id):
            by_code.setdefault(response["instrument"], []).append(response)
        views = []
        for instrument_code in sorted(by_code):
            found = self.catalogue.get(instrument_code)
            if found is not None:
                views.append(series_view(found.instrument, by_code[instrument_code]))
        return views

    def trajectory_chart(self, client_id: str, code: str) -> Chart:
        """The client's trajectory on one instrument, drawn, with the due dates of their
        assignments of it (those cancelled up to their cancellation)."""
        series = self.trajectory(client_id, code)[0]
        cancellations = self.assignments.facts(client_id).cancellations
        due = []
        for assignment in self.assignments.of_instrument(client_id, code):
            cancelled = cancellations.get(assignment["_id"])
            until = min(self.now, cancelled["cancelled_at"]) if cancelled else self.now
            dates = due_dates(schedule_of(assignment, self.grace), until, DUE_DATES_SHOWN)
            due += [moment for moment in dates if cancelled is None or moment <= until]
        return trajectory_chart(client_id, series, due, self.now)

    def recovery(self, client_id: str, depression: str, anxiety: str) -> dict:
        """The NHS Talking Therapies outcome so far over a depression and an anxiety measure."""
        measures = {}
        for field, code in (("depression", depression), ("anxiety", anxiety)):
            entry = self.instrument(code, field)
            if not has_recovery_rules(entry.instrument):
                raise invalid({field: [f"{code} publishes no caseness and reliable change rules"]})
            measures[field] = entry.instrument
        ends = {
            field: series_ends(instrument, [_series_entry(r) for r in self.responses.series(client_id, instrument.code)])
            for field, instrument in measures.items()
        }
        outcome, reason = recovery_so_far(ends["depression"], ends["anxiety"])
        return recovery_view(client_id, ends["depression"], ends["anxiety"], outcome, reason)

    def outcomes(self, filters: Mapping[str, Any]) -> tuple[dict, BarChart]:
        """The clinic's outcomes on one instrument, baseline to latest score of each client's
        series, over the series ``filters`` select, as JSON and drawn. A therapist sees only their
        own clients (those they submitted a response for or are responsible for an assignment
        of); naming another therapist is 403."""
        therapist = filters.get("therapist")
        if self.principal.role == "therapist":
            if therapist not in (None, self.principal.sub):
                raise Problem(403, "A therapist sees the outcomes of their own clients only",
                              errors={"therapist": ["Name yourself, or leave it out."]})
            therapist = self.principal.sub
        instrument = self.instrument(filters["instrument"]).instrument
        if not can_tally(instrument):
            raise invalid({"instrument": [f"{instrument.code} publishes no reliable change rule, so no outcome can be judged"]})
        first, last = filters.get("from"), filters.get("to")
        if first and last and first > last:
            raise invalid({"to": ["must not be before from"]})
        if therapist is None:
            summaries = self.summaries.of_instrument(instrument.code, filters.get("cohort"))
        else:
            clients = self.therapist_links.clients_of(therapist)
            summaries = self.summaries.of_clients(clients, instrument.code, filters.get("cohort"))
        ends = [
            ends_of(instrument, summary) for summary in summaries
            if (first is None or summary["latest_at"].date() >= first) and (last is None or summary["latest_at"].date() <= last)
        ]
        applied = {
            "instrument": instrument.code, "therapist": therapist, "from": first and first.isoformat(),
            "to": last and last.isoformat(), "cohort": filters.get("cohort"),
        }
        view = outcomes_view(instrument, tally(instrument, ends), applied)
        return view, outcomes_chart(instrument, view)

    # Assignments

    def assign(self, data: Mapping[str, Any], route: str) -> tuple[dict, bool]:
        instrument = self.instrument(data["instrument"]).instrument
        starts_at = a_time("starts_at", data.get("starts_at") or self.now, self.now)
        ends_at = a_time("ends_at", data["ends_at"], self.now) if data.get("ends_at") else None
        try:
            Schedule(starts_at, data["every_days"], ends_at, self.grace)
        except ValueError as exc:
            raise invalid({"ends_at" if "ends_at" in str(exc) else "every_days": [str(exc)]}) from None

        def build(assignment_id: str) -> dict:
            assignment = {
                "_id": assignment_id,
                "tenant": self.tenant,
                "client_id": data["client_id"],
                "instrument": instrument.code,
                "every_days": data["every_days"],
                "starts_at": starts_at,
                "ends_at": ends_at,
                "assigned_by": self.principal.sub,
                "assigned_by_role": self.principal.role,
                "therapist_id": data.get("therapist_id"),
                "created_at": self.now,
            }
            # Planned before the assignment is stored, so that a stored assignment always has
            # its reminders (the job drops entries whose assignment never came, see jobs.py).
            plan_reminders(self.reminders, assignment, self.grace, self.now)
            return with_events(assignment, [events.assigned(self.tenant, assignment, self.now)], self.now,
                               ordering_key=assignment["client_id"])

        assignment, created = self.assignments.create(route, data, build)
        # The therapist responsible, and a therapist who assigned it for someone else: both have the client.
        assigner = assignment["assigned_by"] if assignment.get("assigned_by_role") == "therapist" else None
        for therapist_id in sorted({t for t in (assignment.get("therapist_id"), assigner) if t is not None}):
            self.therapist_links.link(assignment["client_id"], therapist_id, self.now)
        return assignment, created

    def assignment(self, assignment_id: str) -> dict:
        found = self.assignments.get(assignment_id)
        if found is None:
            raise Problem(404, "No such assignment")
        return found

    def cancel(self, assignment: Mapping[str, Any], reason: str | None) -> None:
        self.assignments.cancel(assignment, self.principal.sub, reason, self.now)

    def assignment_views(self, assignments: list[dict]) -> list[dict]:
        """Each assignment with its state now. What happened to them is read a client at a time
        (``AssignmentStore.facts``): two queries per client on the page, so two for a client's
        own list or one assignment."""
        by_client = {client_id: self.assignments.facts(client_id) for client_id in {a["client_id"] for a in assignments}}
        views = []
        for assignment in assignments:
            assignment_id, facts = assignment["_id"], by_client[assignment["client_id"]]
            state = assignment_state(
                schedule_of(assignment, self.grace),
                self.now,
                partial(_answered, facts, assignment_id),
                cancelled=assignment_id in facts.cancellations,
            )
            current = facts.fulfilments.get(occurrence_key(assignment_id, state.current.index)) if state.current else None
            views.append(assignment_view(assignment, state, current, facts.cancellations.get(assignment_id)))
        return views


def _series_entry(response: Mapping[str, Any]) -> SeriesEntry:
    baseline = None if response["baseline"] else Reference.from_dict(response["compared_with"]["baseline"])
    return SeriesEntry(response["seq"], Reference(response["_id"], response["score"]["total"]), baseline)
