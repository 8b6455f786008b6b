"""The notifications service against real servers: RabbitMQ, the database, an aiosmtpd SMTP
server and a plain HTTP server as webhook receiver, all on loopback. Time is a FixedClock shared
by the API and the worker, so quiet hours, escalation and retry delays pass without sleeping.

``service`` runs the worker and the API; ``store`` is the API and the database with no worker,
for tests that are themselves the writers (races) or that spread records over months (a
worker's jobs would read every timetable window in between)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from services.notifications import config
from services.notifications.adapters.memberships import ADMINS, CARE_TEAM, CLINICIANS, Memberships
from services.notifications.adapters.smtp import SmtpSender
from services.notifications.adapters.webhook_client import Resolver, Targets, WebhookClient, system_resolver
from services.notifications.app import create_app
from services.notifications.actions import EmailChannel
from services.notifications.jobs import DeliveryJob
from services.notifications.handlers import RulesConsumer
from services.notifications.worker import build_worker, retry_policy
from shared.clock import FixedClock
from shared.config import Settings
from shared.events.publisher import Publisher
from shared.mongo import Database, Scope
from shared.worker import Worker
from tests.support.caller import Caller
from tests.support.notifications import APP_BASE_URL, START, TENANT, notification_settings, risk_flagged
from tests.support.harness import Harness, wait_for
from tests.support.peers import Mailbox



@dataclass
class Service:
    """One running notifications service (worker and API) for a test."""

    harness: Harness
    clock: FixedClock
    settings: Settings
    worker: Worker
    client: FlaskClient
    api: Caller  # the same API as one caller or another
    database: Database

    def publish(self, event: dict, times: int = 1) -> None:
        publisher = Publisher(self.harness.broker, self.harness.exchange)
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
        """A call with these headers (a token among them: ``auth(...)``), through Flask's test client."""
        return self.api.call(method, path, who=None, headers=headers, **kwargs)

    def notifications(self, **query) -> list[dict]:
        return list(self.database[config.NOTIFICATIONS].find(query))

    def wait(self, condition, what: str, timeout: float = 15.0):
        return wait_for(condition, timeout=timeout, what=what)


class Store:
    """The service's database and API with no worker running; ``connect()`` opens another
    connection to the database, as another replica would have."""

    escalate_after = timedelta(minutes=30)

    def __init__(self, harness: Harness, clock: FixedClock, smtp_url: str):
        self.settings = notification_settings(harness, smtp_url)
        self.clock = clock
        self.database = self.connect()
        self.client = create_app(self.settings, clock=clock).test_client()

    def connect(self) -> Database:
        return Database(self.settings.mongo_url, self.settings.database, config.INDEXES)

    def email_job(self) -> DeliveryJob:
        database = self.connect()
        sender = SmtpSender(self.settings.smtp_url, self.settings["SMTP_FROM"], self.settings["SMTP_TIMEOUT_SECONDS"])
        return DeliveryJob(database, self.clock, EmailChannel(database, sender, APP_BASE_URL),
                           retry_policy(self.settings), timedelta(seconds=self.settings["DELIVERY_LEASE_SECONDS"]))

    def rules(self, database: Database | None = None) -> RulesConsumer:
        """The worker's ``notifications.rules`` consumer (on ``database``, or this store's)."""
        return RulesConsumer(database or self.database, self.clock, self.escalate_after)

    def clinic(self, clients: list[str], care_team: list[str], admins: list[str]) -> None:
        teams = Memberships(self.database, Scope(TENANT))
        teams.replace(ADMINS, None, admins, self.clock.now(), "test")
        teams.replace(CLINICIANS, None, care_team, self.clock.now(), "test")
        for client_id in clients:
            teams.replace(CARE_TEAM, client_id, care_team, self.clock.now(), "test")

    def raise_alert(self, client_id: str) -> str:
        event = risk_flagged(client_id=client_id)
        self.rules()(event)
        alert = self.database[config.ALERTS].find_one({"event_id": event["id"]})
        assert alert is not None, "the rules consumer raised an alert"
        return alert["_id"]

    def every_page(self, path: str, headers: dict, limit: int = 4, **query) -> list[dict]:
        """The items of every page of a list, checking that each cursor continues its page."""
        items, cursor = [], None
        while True:
            answer = self.client.get(path, headers=headers,
                                     query_string={**query, "limit": limit, **({"cursor": cursor} if cursor else {})})
            assert answer.status_code == 200, answer.json
            page = answer.json
            assert page is not None
            assert len(page["items"]) == limit or page["next_cursor"] is None
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items


@pytest.fixture
def store(harness, clock, smtp_server) -> Store:
    return Store(harness, clock, smtp_server[0])


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def start_service(harness, clock, smtp_server, auth):
    """Start the worker and the API with these settings overrides (``SMTP_URL`` included);
    ``resolver`` replaces the machine's for webhook hosts, in the API and the worker alike."""

    def start(resolver: Resolver = system_resolver, **overrides: str) -> Service:
        settings = notification_settings(harness, overrides.pop("SMTP_URL", smtp_server[0]), **overrides)
        http = WebhookClient(settings["WEBHOOK_TIMEOUT_SECONDS"], Targets(settings["WEBHOOK_ALLOWED_HOSTS"], resolver))
        worker = harness.start(build_worker(settings, clock=clock, http=http))
        app = create_app(settings, clock=clock, resolver=resolver)
        return Service(harness, clock, settings, worker, app.test_client(), Caller.in_process(app, auth, who=None), Database(settings.mongo_url, settings.database))

    return start


@pytest.fixture
def service(start_service) -> Service:
    return start_service()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    return smtp_server[1]
