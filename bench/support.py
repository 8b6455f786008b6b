"""What the benchmarks share: free ports, the services' APIs under gunicorn, percentiles."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode} before answering at {url} (see its log)")
        try:
            requests.get(url, timeout=1)
            return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still ensuring indexes
            time.sleep(0.1)
    raise SystemExit(f"nothing answered at {url} after {timeout}s")


def gunicorn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as output:
        return subprocess.Popen([sys.executable, "-m", "gunicorn", *args], cwd=ROOT, env=env, stdout=output, stderr=output)


def start_api(service: str, env: dict[str, str], database: str, workers: int, scratch: Path) -> tuple[subprocess.Popen, str]:
    """The service's API as deployed (its gunicorn config, ``workers`` processes) on a free
    loopback port, on ``database``; returns the process and its base URL once it answers.
    ``env`` holds MONGO_URL, AMQP_URL and JWT_SECRET."""
    port = free_port()
    metrics = scratch / f"prometheus-{database}"
    metrics.mkdir(parents=True, exist_ok=True)
    process = gunicorn(
        ["-c", f"services/{service}/gunicorn.conf.py", f"services.{service}.app:create_app()"],
        {**os.environ, **env, "MONGO_DATABASE": database, "HOST": "127.0.0.1", "PORT": str(port),
         "WEB_CONCURRENCY": str(workers), "PROMETHEUS_MULTIPROC_DIR": str(metrics), "LOG_LEVEL": "WARNING",
         "PYTHONPATH": str(ROOT)},
        scratch / f"{database}.log",
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/healthz", process)
    return process, url


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]
