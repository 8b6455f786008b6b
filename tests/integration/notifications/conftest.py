"""The notifications service against real servers: RabbitMQ, the database, an aiosmtpd SMTP
server and a plain HTTP server as webhook receiver, all on loopback. Time is a FixedClock shared
by the API and the worker, so quiet hours, escalation and retry delays pass without sleeping."""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
from aiosmtpd.controller import Controller

from services.notifications import config
from services.notifications.app import create_app
from services.notifications.worker import build_worker
from shared.clock import FixedClock
from shared.events.publisher import Publisher
from shared.mongo import Database
from shared.worker import Worker
from tests.support.harness import Harness, wait_for

# A Monday, 10:00 in London (GMT in March before the clocks change).
START = datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)
APP_BASE_URL = "https://app.clinic.example"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """The aiosmtpd handler: keeps every message the server accepted."""

    def __init__(self):
        self.messages: list = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.original_content, policy=email.policy.default)))
        return "250 Message accepted"

    def to(self, address: str) -> list:
        with self._lock:
            return [message for rcpts, message in self.messages if address in rcpts]


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, Mailbox]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", mailbox
    finally:
        controller.stop()


@dataclass
class Receiver:
    """A webhook receiver: records each POST and answers the next scripted status (then 204)."""

    url: str = ""
    requests: list = field(default_factory=list)
    statuses: list = field(default_factory=list)
    always: int | None = None

    def answer(self) -> int:
        if self.statuses:
            return self.statuses.pop(0)
        return self.always or 204


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append((dict(self.headers), body))
            self.send_response(state.answer())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/stepwise"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


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
