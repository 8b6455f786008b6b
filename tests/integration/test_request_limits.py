"""Request-line, header and body limits through real gunicorn: the app's own limits answer
problem+json (414, 431, 413 also for a chunked body), and gunicorn's sit above them as a backstop."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
import requests

from shared import guards
from tests.support.harness import wait_for
from tests.support.peers import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
MAX_BODY_BYTES = 4096


@pytest.fixture
def goals_under_gunicorn(harness, tmp_path) -> Iterator[str]:
    port = free_port()
    environ = {
        **os.environ, **harness.env("goals"), "PYTHONPATH": str(ROOT), "HOST": "127.0.0.1", "PORT": str(port),
        "WEB_CONCURRENCY": "1", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "services/goals/gunicorn.conf.py", "services.goals.app:create_app()"],
        cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _serves(f"{base}/healthz"), timeout=30, what="gunicorn to serve")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def _serves(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _problem(answer: requests.Response, status: int, field: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert field in problem["errors"]
    return problem


def test_limits_answer_problem_json_under_gunicorn(goals_under_gunicorn, auth):
    base = goals_under_gunicorn
    long_url = f"{base}/v1/goals?client_id={'c' * (guards.MAX_TARGET_BYTES + 100)}"
    _problem(requests.get(long_url, timeout=10), 414, "url")

    big_header = {"X-Padding": "p" * (guards.MAX_HEADER_FIELD_BYTES + 100)}
    _problem(requests.get(f"{base}/v1/goals", headers=big_header, timeout=10), 431, "headers")

    many = {f"X-Field-{n}": "v" for n in range(guards.MAX_HEADER_FIELDS + 1)}
    _problem(requests.get(f"{base}/v1/goals", headers=many, timeout=10), 431, "headers")

    def chunks():
        for _ in range(4):
            yield b'{"note": "' + b"x" * MAX_BODY_BYTES + b'"}'

    for headers in ({}, auth()):  # the limit holds before the token is checked
        chunked = requests.post(f"{base}/v1/goals", data=chunks(), timeout=10,
                                headers={"Content-Type": "application/json", **headers})
        assert chunked.request.headers["Transfer-Encoding"] == "chunked"
        _problem(chunked, 413, "body")

    deep = requests.post(f"{base}/v1/goals", data=b"[" * 1000 + b"]" * 1000, timeout=10,
                         headers={"Content-Type": "application/json"})
    _problem(deep, 422, "body")


def test_a_chunked_body_within_the_limit_is_read(goals_under_gunicorn, auth):
    def chunks():
        yield b'{"client_id": "client-1", "title": "Walk every day",'
        yield b' "measure": {"kind": "count", "baseline": 0, "target": 5, "per": "week"}}'

    answer = requests.post(f"{goals_under_gunicorn}/v1/goals", data=chunks(), timeout=10,
                           headers={"Content-Type": "application/json", **auth()})
    assert answer.status_code == 201, answer.text
    assert answer.headers["Cache-Control"] == "no-store"


def test_beyond_gunicorns_own_limits_the_answer_is_still_a_4xx(goals_under_gunicorn):
    huge = {"X-Padding": "p" * (4 * guards.MAX_HEADER_FIELD_BYTES)}
    answer = requests.get(f"{goals_under_gunicorn}/v1/goals", headers=huge, timeout=10)
    assert 400 <= answer.status_code < 500
