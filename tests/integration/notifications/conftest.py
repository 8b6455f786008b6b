"""The notifications service against real servers: RabbitMQ, the database, an aiosmtpd SMTP
server and a plain HTTP server as webhook receiver, all on loopback. Time is a FixedClock shared
by the API and the worker, so quiet hours, escalation and retry delays pass without sleeping."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from services.notifications import config
from services.notifications.app import create_app
from services.notifications.worker import build_worker
from shared.clock import FixedClock
from shared.events.publisher import Publisher
from shared.mongo import Database
from shared.worker import Worker
from tests.support.harness import Harness, wait_for
from tests.support.peers import Mailbox

# A Monday, 10:00 in London (GMT in March before the clocks change).
START = datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)
APP_BASE_URL = "https://app.clinic.example"


@dataclass
class Service:
    """One running notifications service (worker and API) for a test."""

    harness: Harness
    clock: FixedClock
    settings: object
    worker: Worker
    client: object
    database: Database

    def publish(self, event: dict, times: int = 1) -> None:
        publisher = Publisher(self.harness.amqp_url, self.harness.exchange)
        try:
            for _ in range(times):
                publisher.publish(event)
        finally:
            publisher.close()

    def run_job(self, name: str) -> None:
        """Run one round of a periodic job now (it also runs in the background)."""
        next(job for job in self.worker.jobs if job.name == name).run()

    def restart_worker(self, start: bool = True) -> Worker:
        self.worker.stop()
        self.worker = build_worker(self.settings, clock=self.clock)
        if start:
            self.harness.start(self.worker)
        return self.worker

    def call(self, method: str, path: str, headers: dict, **kwargs):
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def notifications(self, **query) -> list[dict]:
        return list(self.database[config.NOTIFICATIONS].find(query))

    def wait(self, condition, what: str, timeout: float = 15.0):
        return wait_for(condition, timeout=timeout, what=what)


def notification_settings(harness: Harness, smtp_url: str, **overrides: str):
    values = {
        "SMTP_URL": smtp_url,
        "APP_BASE_URL": APP_BASE_URL,
        "DELIVERY_POLL_SECONDS": "0.05",
        "ESCALATION_POLL_SECONDS": "0.05",
        "ALERT_ESCALATE_AFTER_MINUTES": "30",
        "DELIVERY_RETRY_BASE_SECONDS": "10",
        "DELIVERY_RETRY_FACTOR": "3",
        "DELIVERY_MAX_ATTEMPTS": "3",
        "WEBHOOK_DISABLE_AFTER": "2",
        "WEBHOOK_TIMEOUT_SECONDS": "5",
        "MAX_BODY_BYTES": "8192",
        **overrides,
    }
    return harness.settings(config.SERVICE, config.OPTIONS, **values)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def start_service(harness, clock, smtp_server):
    """Start the worker and the API with these settings overrides (``SMTP_URL`` included)."""

    def start(**overrides: str) -> Service:
        settings = notification_settings(harness, overrides.pop("SMTP_URL", smtp_server[0]), **overrides)
        worker = harness.start(build_worker(settings, clock=clock))
        app = create_app(settings, clock=clock)
        return Service(harness, clock, settings, worker, app.test_client(), Database(settings.mongo_url, settings.database))

    return start


@pytest.fixture
def service(start_service) -> Service:
    return start_service()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    return smtp_server[1]
