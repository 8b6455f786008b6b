"""The image's entrypoint (deploy/docker/entrypoint), run as the image runs it, without Docker:
`api` serves the service under gunicorn, `worker` runs its worker, and `healthcheck` tells a
healthy API or worker from a dead one. The worker runs as PID 1 of its own PID namespace
(unshare), as in a container, because that is how `healthcheck` knows it is a worker."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.integration.test_processes import free_port
from tests.support.harness import wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = str(ROOT / "deploy" / "docker" / "entrypoint")


def image_env(harness, tmp_path, **extra: str) -> dict[str, str]:
    """The environment the Dockerfile sets, with this test's servers and files."""
    return {
        **os.environ,
        **harness.env("goals"),
        "SERVICE": "goals",
        "PYTHONPATH": str(ROOT),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "WORKER_HEARTBEAT_FILE": str(tmp_path / "heartbeat"),
        **extra,
    }


def healthcheck(env: dict[str, str], namespace_of: int | None = None) -> int:
    """The HEALTHCHECK command's exit status, run inside the PID namespace of ``namespace_of``."""
    command = [ENTRYPOINT, "healthcheck"]
    if namespace_of is not None:
        command = ["nsenter", f"--target={namespace_of}", "--pid", "--mount", *command]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=30).returncode


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def test_api_serves_under_gunicorn_with_fresh_metrics_files_and_passes_its_healthcheck(harness, tmp_path):
    port = free_port()
    stale = tmp_path / "prometheus" / "counter_99999.db"
    stale.parent.mkdir()
    stale.write_bytes(b"from a process that ran before")
    env = image_env(harness, tmp_path, PORT=str(port), HOST="127.0.0.1", WEB_CONCURRENCY="1")
    process = subprocess.Popen([ENTRYPOINT], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: healthcheck(env) == 0, timeout=30, what="the API's healthcheck to pass")
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
        assert not stale.exists()
    finally:
        stop(process)
    assert healthcheck(env) != 0


def test_worker_runs_as_pid_1_and_its_healthcheck_follows_the_heartbeat(harness, tmp_path):
    env = image_env(harness, tmp_path)
    # --fork: the entrypoint (then, by exec, the worker) is PID 1 of the new namespace. unshare
    # itself ignores SIGTERM while it waits, so the worker is stopped by its own pid; the session
    # is this test's, to kill what is left if the test fails half-way.
    process = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", ENTRYPOINT, "worker"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        wait_for(lambda: children.read_text().split(), timeout=10, what="unshare to start the worker")
        worker = int(children.read_text().split()[0])
        wait_for(lambda: healthcheck(env, worker) == 0, timeout=30, what="the worker's healthcheck to pass")
        # The same check outside the namespace (PID 1 is not a worker there) asks for /healthz,
        # which nothing serves; and inside, it fails without a heartbeat file: so the check
        # inside followed the heartbeat.
        assert healthcheck({**env, "PORT": str(free_port())}) != 0
        assert healthcheck({**env, "WORKER_HEARTBEAT_FILE": str(tmp_path / "no-heartbeat")}, worker) != 0
        os.kill(worker, signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
