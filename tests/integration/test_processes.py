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
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from shared.health import READY_TIMEOUT_SECONDS
from shared.heartbeat import is_fresh
from tests.support.harness import wait_for
from tests.support.processes import answers, stop
from tests.support.tcp_proxy import TcpProxy

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
        wait_for(lambda: answers(f"{base}/healthz"), timeout=30, what="gunicorn to serve")
        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"mongodb": "ok"}
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
        stop([process])


def _goals_app(harness, **overrides):
    from services.goals import config
    from services.goals.app import create_app

    return create_app(settings=harness.settings("goals", config.OPTIONS, **overrides))


def _through(proxy: TcpProxy, url: str) -> str:
    """``url`` (a single-host server URL) with its host and port replaced by the proxy's."""
    parsed = urlsplit(url)
    credentials = parsed.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{proxy.port}" if credentials else f"127.0.0.1:{proxy.port}"
    return urlunsplit(parsed._replace(netloc=netloc))


def test_readyz_is_ready_while_the_broker_is_unreachable(harness):
    # The outbox holds events while the broker is away: an API without RabbitMQ still serves.
    closed = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
    base = harness.serve(_goals_app(harness, AMQP_URL=closed))
    answer = requests.get(f"{base}/readyz", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "checks": {"mongodb": "ok"}}


def test_readyz_names_mongodb_when_the_database_is_unreachable(harness):
    base = harness.serve(_goals_app(harness, MONGO_URL=f"mongodb://127.0.0.1:{free_port()}"))
    started = time.monotonic()
    answer = requests.get(f"{base}/readyz", timeout=10)
    assert answer.status_code == 503
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["checks"] == {"mongodb": "unavailable: ServerSelectionTimeoutError"}
    assert "mongodb" in answer.json()["detail"]
    # Bounded by READY_TIMEOUT_SECONDS (2 s, below the probes' 3 s timeout), not by the driver's
    # 5 s server selection timeout (the margin is for a busy machine).
    assert time.monotonic() - started < READY_TIMEOUT_SECONDS + 2.5
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200


def test_readyz_is_cheap_one_pooled_database_connection_and_no_broker_connection(harness):
    mongo, broker = urlsplit(harness.mongo_url), urlsplit(harness.amqp_url)
    mongo_proxy, broker_proxy = TcpProxy(mongo.hostname, mongo.port or 27017), TcpProxy(broker.hostname, broker.port or 5672)
    try:
        app = _goals_app(
            harness,
            MONGO_URL=_through(mongo_proxy, harness.mongo_url),
            AMQP_URL=_through(broker_proxy, harness.amqp_url),
        )
        base = harness.serve(app)
        for _ in range(30):
            assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
        # pymongo's monitors and one pooled connection: a handful, not one per probe.
        assert mongo_proxy.connections <= 4
        assert broker_proxy.connections == 0
    finally:
        mongo_proxy.close()
        broker_proxy.close()


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
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/metrics"), timeout=20, what="the worker's metrics")
        page = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "stepwise_outbox_backlog 0.0" in page
    finally:
        stop([process])


# A worker whose one part (a periodic job) ends its thread: the job raises a BaseException, which
# the job loop lets through as it would any error it cannot handle.
WORKER_WITH_A_PART_THAT_ENDS = """
from services.goals import config
from shared.mongo import Database
from shared.worker import PeriodicJob, Worker, main


class PartEnded(BaseException):
    pass


def end():
    raise PartEnded()


def build():
    settings = config.load()
    return Worker(
        settings=settings,
        database=Database(settings.mongo_url, settings.database),
        jobs=[PeriodicJob("ends", 0.1, end)],
    )


main(build, "goals")
"""


def test_a_worker_that_lost_a_part_stops_beating_and_exits_to_be_restarted(harness, tmp_path):
    heartbeat = tmp_path / "hb"
    process = start(
        [sys.executable, "-c", WORKER_WITH_A_PART_THAT_ENDS],
        {**harness.env("goals"), "WORKER_HEARTBEAT_FILE": str(heartbeat)},
    )
    try:
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1
    assert b"worker part ended unexpectedly" in output and b"goals-ends" in output
