"""Real peers on loopback for the tests: an SMTP server (aiosmtpd) that keeps what it accepts,
and an HTTP server that receives webhooks and answers scripted statuses."""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
from aiosmtpd.controller import Controller


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
