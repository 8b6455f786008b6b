"""The notifications worker: ``python -m services.notifications.worker``."""
from __future__ import annotations

from services.notifications import config
from shared.config import Settings
from shared.mongo import Database
from shared.worker import Worker, main


def build_worker(settings: Settings | None = None, clock=None) -> Worker:
    settings = settings or config.load()
    database = Database(settings.mongo_url, settings.database, config.INDEXES)
    return Worker(
        settings=settings,
        database=database,
        subscriptions=[],
        outbox_collections=config.OUTBOX_COLLECTIONS,
        jobs=[],
        clock=clock,
    )


if __name__ == "__main__":
    main(build_worker, config.SERVICE)
