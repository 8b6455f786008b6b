"""A worker's liveness: it touches a file every few seconds; the liveness probe reads it.

    python -m shared.heartbeat      # exits 0 when the file is fresh, 1 otherwise

Why a file and not the metrics port: the metrics server runs in a thread of its own and answers
whatever the other threads do. The worker beats only while every one of its parts runs
(``shared.worker``), so a stale file means a process that is stuck or has lost a part, and the
probe (Compose's healthcheck, Kubernetes' exec livenessProbe) gets it restarted.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable

DEFAULT_FILE = "/tmp/stepwise-worker.heartbeat"
STALE_AFTER_SECONDS = 60.0


def heartbeat_path() -> Path:
    return Path(os.environ.get("WORKER_HEARTBEAT_FILE", DEFAULT_FILE))


def beat(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(time.time()))


def run(
    path: Path, stop: threading.Event, every_seconds: float = 5.0, healthy: Callable[[], bool] = lambda: True
) -> bool:
    """Beat until ``stop`` is set (returns True) or ``healthy()`` is false (returns False, beating no more)."""
    while not stop.is_set():
        if not healthy():
            return False
        beat(path)
        stop.wait(every_seconds)
    return True


def is_fresh(path: Path, now: float | None = None, stale_after: float = STALE_AFTER_SECONDS) -> bool:
    try:
        age = (now if now is not None else time.time()) - path.stat().st_mtime
    except FileNotFoundError:
        return False
    return age < stale_after


if __name__ == "__main__":
    sys.exit(0 if is_fresh(heartbeat_path()) else 1)
