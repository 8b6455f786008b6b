"""The goals worker: ``python -m services.goals.worker``. Wiring only: the handlers are in
``handlers.py``, the jobs in ``jobs.py``.

- ``goals.scores`` takes ``questionnaire.scored`` and feeds the score to the client's goals
  measured by that instrument (progress, milestones, achievement), in the event's tenant;
- ``goals.instruments`` takes ``instrument.defined`` and keeps a clinic's own instrument code and
  score range, so that goals measured by it are accepted (``adapters/instruments.py``);
- the ``goals.due-soon`` job raises ``goal.due_soon`` once per open goal nearing its target
  date, however many replicas run it, from the due-soon checks its writers scheduled;
- the ``goals.refresh`` job rewrites the current-goal document of a goal whose writer stopped
  between its append and its rewrite (``jobs.refresh_announced``);
- ``goals.erasure`` and ``goals.erased`` erase a client's goals and keep every service's
  erasure reports (``shared/client_data.py``);
- the relay publishes the events stored with every goal record.
"""
from __future__ import annotations

from services.goals import config
from services.goals.handlers import instrument_handler, score_handler
from services.goals.jobs import raise_due_soon, refresh_announced
from shared import client_data
from shared.clock import SystemClock
from shared.config import Settings
from shared.events.consumer import Subscription
from shared.mongo import Database
from shared.worker import PeriodicJob, Worker, main

# Writers settle their own changes within milliseconds; this only repairs after a crash.
REFRESH_CHECK_SECONDS = 60.0


def build_worker(settings: Settings | None = None, clock=None) -> Worker:
    settings = settings or config.load()
    clock = clock or SystemClock()
    database = Database(settings.mongo_url, settings.database, config.INDEXES)
    due_soon_days = settings["DUE_SOON_DAYS"]
    return Worker(
        settings=settings,
        database=database,
        subscriptions=[
            Subscription("goals.scores", ["questionnaire.scored"], score_handler(database, clock, due_soon_days)),
            Subscription("goals.instruments", ["instrument.defined"], instrument_handler(database)),
            *client_data.subscriptions(database, config.CLIENT_RECORDS, config.SERVICE, clock),
        ],
        outbox_collections=config.OUTBOX_COLLECTIONS,
        jobs=[
            PeriodicJob(
                "goals.due-soon",
                settings["DUE_SOON_CHECK_SECONDS"],
                lambda: raise_due_soon(database, clock.now(), due_soon_days),
            ),
            PeriodicJob(
                "goals.refresh", REFRESH_CHECK_SECONDS, lambda: refresh_announced(database, clock.now(), due_soon_days)
            ),
        ],
        clock=clock,
    )


if __name__ == "__main__":
    main(build_worker, config.SERVICE)
