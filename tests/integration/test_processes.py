"""The real processes ops run: a worker that beats and stops on SIGTERM, an API under gunicorn
whose metrics add up across its worker processes, and start-up that refuses a bad setting."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from shared.heartbeat import is_fresh
from tests.support.harness import wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def test_a_worker_beats_its_heartbeat_and_stops_cleanly_on_sigterm(harness, tmp_path):
    heartbeat = tmp_path / "goals.heartbeat"
    process = start(
        [sys.executable, "-m", "services.goals.worker"],
        {**harness.env("goals"), "WORKER_HEARTBEAT_FILE": str(heartbeat)},
    )
    try:
        wait_for(lambda: is_fresh(heartbeat), timeout=20, what="the worker's heartbeat")
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_a_bad_setting_stops_the_worker_naming_it(harness):
    process = start([sys.executable, "-m", "services.goals.worker"], {**harness.env("goals"), "PREFETCH": "lots"})
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 2
    assert b"PREFETCH" in output


def test_an_api_under_gunicorn_is_ready_and_counts_requests_across_processes(harness, tmp_path):
    port = free_port()
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    process = start(
        [sys.executable, "-m", "gunicorn", "-c", "services/goals/gunicorn.conf.py", "services.goals.app:create_app()"],
        {
            **harness.env("goals"),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        },
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{base}/healthz"), timeout=30, what="gunicorn to serve")
        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"mongodb": "ok", "rabbitmq": "ok"}
        for _ in range(20):
            assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        metrics = requests.get(f"{base}/metrics", timeout=5).text
        line = next(
            line for line in metrics.splitlines()
            if line.startswith("stepwise_http_requests_total") and 'route="/healthz"' in line
        )
        assert float(line.rsplit(" ", 1)[1]) >= 20
        assert "stepwise_outbox_backlog" in metrics
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_readyz_names_the_dependency_that_is_down(harness):
    from services.goals import config
    from services.goals.app import create_app

    dead_port = free_port()
    settings = harness.settings("goals", config.OPTIONS, AMQP_URL=f"amqp://guest:guest@127.0.0.1:{dead_port}/%2F")
    client = create_app(settings=settings).test_client()
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.content_type == "application/problem+json"
    assert answer.json["checks"]["mongodb"] == "ok"
    assert answer.json["checks"]["rabbitmq"].startswith("unavailable")
    assert "rabbitmq" in answer.json["detail"]


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        time.sleep(0.1)
        return False


def test_a_worker_serves_its_metrics_when_asked(harness, tmp_path):
    port = free_port()
    process = start(
        [sys.executable, "-m", "services.goals.worker"],
        {
            **harness.env("goals"),
            "WORKER_HEARTBEAT_FILE": str(tmp_path / "hb"),
            "WORKER_METRICS_PORT": str(port),
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        },
    )
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/metrics"), timeout=20, what="the worker's metrics")
        page = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "stepwise_outbox_backlog 0.0" in page
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
