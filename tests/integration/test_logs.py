"""Logs are JSON lines with the request id, and keep health data and client ids out."""
from __future__ import annotations

import json

import pytest

from services.questionnaires import config
from services.questionnaires.app import create_app

pytestmark = pytest.mark.integration


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
