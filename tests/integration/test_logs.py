"""Logs are JSON lines with the request id, and keep health data and client ids out."""
from __future__ import annotations

import json
import logging
import threading

import pytest

from services.questionnaires import config
from services.questionnaires.app import create_app
from shared.events.consumer import Subscription
from shared.events.envelope import new_event
from shared.events.publisher import Publisher
from shared.logs import configure_logging, trace_id_of
from shared.mongo import Database
from shared.worker import Worker

pytestmark = pytest.mark.integration
# The example of the W3C Trace Context specification.
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_request_logs_carry_the_request_id_but_no_ids_or_answers(harness, auth, capfd):
    app = create_app(settings=harness.settings("questionnaires", config.OPTIONS, LOG_LEVEL="INFO"))
    client = app.test_client()
    capfd.readouterr()
    answer = client.post(
        "/v1/responses",
        json={"client_id": "client-7f3a", "instrument": "phq9", "answers": [3, 3, 3, 3, 3, 3, 3, 3, 2],
              "completed_at": "2026-01-05T09:00:00Z"},
        headers={**auth("therapist", "therapist-1"), "X-Request-ID": "req-logs-1"},
    )
    assert answer.status_code == 201
    assert answer.headers["X-Request-ID"] == "req-logs-1"
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line["message"] == "request"]
    assert request_lines and request_lines[-1]["correlation_id"] == "req-logs-1"
    assert request_lines[-1]["route"] == "/v1/responses"
    text = json.dumps(lines)
    for private in ("client-7f3a", "self_harm", "moderately_severe", "severe", "[3, 3"):
        assert private not in text


def test_a_handled_events_lines_carry_its_correlation_and_trace_ids(harness, capfd):
    settings = harness.settings("logs", LOG_LEVEL="INFO")
    configure_logging("logs", "INFO")
    handled = threading.Event()

    def handler(event: dict) -> None:
        logging.getLogger("tests.handler").info("handled", extra={"event_id": event["id"]})
        handled.set()

    harness.start(Worker(settings=settings, database=Database(settings.mongo_url, settings.database),
                         subscriptions=[Subscription("traced", ["goal.#"], handler)]))
    event = new_event("goal.achieved", tenant="clinic-a", subject="g-1", data={"goal_id": "g-1", "client_id": "c-1"})
    event.update(correlationid="req-traced-1", traceparent=f"00-{TRACE_ID}-00f067aa0ba902b7-01")
    publisher = Publisher(harness.amqp_url, harness.exchange)
    publisher.publish(event)
    publisher.close()
    assert handled.wait(20)
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    [line] = [line for line in lines if line["message"] == "handled"]
    assert line["correlation_id"] == "req-traced-1"
    assert line["trace_id"] == TRACE_ID


def test_a_malformed_traceparent_is_no_trace_id():
    assert trace_id_of(f"00-{TRACE_ID}-00f067aa0ba902b7-01") == TRACE_ID
    for malformed in (None, 7, "", "00-xyz-00f067aa0ba902b7-01", f"00-{TRACE_ID.upper()}-00f067aa0ba902b7-01"):
        assert trace_id_of(malformed) is None
