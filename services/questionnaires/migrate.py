"""Bring records stored before the indexed storage into it: ``python -m services.questionnaires.migrate``.

Responses and assignments stored before lists were read a period at a time carry no period
number (so no page would find them), and assignments made before the reminder timetable have no
entries in it (so they would never be reminded). This reads every response and assignment once,
which is a migration, not a request or a job: it stamps the records that have no period number
(noting their periods in the lists' directories) and plans the reminders of every assignment
that is not cancelled, from the occurrence open now.

Run it once after deploying this version, with the API and worker running or not: what they
write meanwhile is stamped and planned already, and running it again changes nothing (a stamp is
the same number, a planned entry is keyed). Only this process updates the old records, so
FerretDB's lost concurrent updates cannot touch them. What the old layout kept beside, the
``score_heads.00`` ... ``.63`` collections, nothing reads any more: drop them.

A clinic's instruments defined before they carried ``instrument.defined`` are announced once
(an ``instrument_announcements`` record per definition carries the event), so that the goals
service accepts goals measured by them.

Clinic outcomes (``GET /v1/outcomes``) read a summary of each client's series on each instrument
and the therapists each client has, both written when a response (or an assignment) is stored:
this writes them for every series and every therapist named in the records stored before (a
summary is rewritten from its series, a link is a claim: running again changes nothing).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from services.questionnaires import config, events
from services.questionnaires.adapters.assignments import ReminderLedger
from services.questionnaires.adapters.outcomes import SeriesSummaries, TherapistLinks
from services.questionnaires.adapters.responses import ResponseStore
from services.questionnaires.jobs import plan_reminders
from shared.clock import SystemClock
from shared.logs import configure_logging
from shared.events.outbox import with_events
from shared.mongo import Database, Scope, insert_once
from shared.paging import Listing

log = logging.getLogger(__name__)


def _stamp(database: Database, collection: str, listings: tuple[Listing, ...]) -> int:
    """Give each record of ``collection`` without its period numbers the numbers ``listings``
    stamp on new ones; returns how many were stamped."""
    stamped = 0
    unstamped = {listings[0].field: {"$exists": False}}
    for record in database[collection].find(unstamped, {"outbox": 0, "answers": 0}):
        numbers = dict(record)
        for listing in listings:
            numbers = listing.stamp(database, numbers)
        database[collection].update_one(
            {"_id": record["_id"]}, {"$set": {listing.field: numbers[listing.field] for listing in listings}}
        )
        stamped += 1
    return stamped


def _announce_instruments(database: Database, now: datetime) -> int:
    """Raise ``instrument.defined`` for each clinic instrument stored without it; returns how many
    (keyed by the definition's id: running again announces nothing twice)."""
    announced = 0
    for record in database[config.INSTRUMENTS].find({"outbox": {"$exists": False}}):
        event = events.instrument_defined(record["tenant"], record, now)
        announcement = {"_id": record["_id"], "tenant": record["tenant"], "code": record["code"]}
        announced += insert_once(database[config.INSTRUMENT_ANNOUNCEMENTS], with_events(announcement, [event], now))
    return announced


def _summarize(database: Database) -> dict[str, int]:
    """Write the series summary of every client's series on every instrument, and link every
    therapist named on a response or an assignment (or assigning one) to its client."""
    series: set[Any] = set()
    links: dict[Any, Any] = {}
    fields = {"tenant": 1, "client_id": 1, "instrument": 1, "therapist_id": 1, "created_at": 1}
    for response in database[config.RESPONSES].find({}, fields):
        series.add((response["tenant"], response["client_id"], response["instrument"]))
        links.setdefault((response["tenant"], response["client_id"], response.get("therapist_id")), response["created_at"])
    for assignment in database[config.ASSIGNMENTS].find({}, {**fields, "assigned_by": 1, "assigned_by_role": 1}):
        key = assignment["tenant"], assignment["client_id"]
        links.setdefault((*key, assignment.get("therapist_id")), assignment["created_at"])
        if assignment.get("assigned_by_role") == "therapist":
            links.setdefault((*key, assignment["assigned_by"]), assignment["created_at"])
    for tenant, client_id, instrument in sorted(series):
        SeriesSummaries(database, Scope(tenant)).refresh(ResponseStore(database, Scope(tenant)), client_id, instrument)
    named = sorted((key, since) for key, since in links.items() if key[2] is not None)
    linked = sum(
        TherapistLinks(database, Scope(tenant)).link(client_id, therapist_id, since)
        for (tenant, client_id, therapist_id), since in named
    )
    return {"series_summarized": len(series), "therapists_linked": linked}


def migrate(database: Database, now: datetime, grace: timedelta) -> dict[str, int]:
    """Stamp old responses and assignments, announce old clinic instruments, plan the reminders
    of live assignments, and summarize every series for clinic outcomes."""
    done = {
        "responses_stamped": _stamp(database, config.RESPONSES, (config.TENANT_RESPONSES, config.CLIENT_RESPONSES)),
        "assignments_stamped": _stamp(database, config.ASSIGNMENTS, (config.TENANT_ASSIGNMENTS,)),
        "assignments_planned": 0,
    }
    done["instruments_announced"] = _announce_instruments(database, now)
    ledger = ReminderLedger(database)
    for assignment in database[config.ASSIGNMENTS].find({}, {"outbox": 0, "idempotency": 0}):
        if not ledger.cancelled(assignment["_id"]):
            plan_reminders(ledger, assignment, grace, now)
            done["assignments_planned"] += 1
    return {**done, **_summarize(database)}


def main() -> None:
    settings = config.load()
    configure_logging(config.SERVICE)
    database = Database(settings.mongo_url, settings.database, config.INDEXES)
    grace = timedelta(hours=settings["OVERDUE_AFTER_HOURS"])
    log.info("migrated", extra=migrate(database, SystemClock().now(), grace))
    database.close()


if __name__ == "__main__":
    main()
