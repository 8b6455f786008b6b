"""The questionnaires worker: ``python -m services.questionnaires.worker``.

- the relay publishes the events stored with responses, assignments and reminders;
- ``questionnaires.erasure`` and ``questionnaires.erased`` erase a client's responses and
  assignments and keep every service's erasure reports (``shared/client_data.py``);
- the ``questionnaires.reminders`` job handles the reminder timetable's entries that have come
  due: ``questionnaire.due`` once per occurrence (and once more when it is overdue), however
  many replicas run it (see ``jobs.py``).
"""
from __future__ import annotations

from datetime import timedelta

from services.questionnaires import config
from services.questionnaires.adapters.assignments import ReminderLedger
from services.questionnaires.jobs import raise_reminders
from shared import client_data
from shared.clock import SystemClock
from shared.config import Settings
from shared.mongo import Database
from shared.worker import PeriodicJob, Worker, main


def build_worker(settings: Settings | None = None, clock=None) -> Worker:
    settings = settings or config.load()
    clock = clock or SystemClock()
    database = Database(settings.mongo_url, settings.database, config.INDEXES)
    ledger = ReminderLedger(database)
    grace = timedelta(hours=settings["OVERDUE_AFTER_HOURS"])
    return Worker(
        settings=settings,
        database=database,
        subscriptions=client_data.subscriptions(database, config.CLIENT_RECORDS, config.SERVICE, clock),
        outbox_collections=config.OUTBOX_COLLECTIONS,
        jobs=[
            PeriodicJob(
                "questionnaires.reminders",
                settings["REMINDER_CHECK_SECONDS"],
                lambda: raise_reminders(ledger, clock.now(), grace),
            )
        ],
        clock=clock,
    )


if __name__ == "__main__":
    main(build_worker, config.SERVICE)
