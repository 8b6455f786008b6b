"""A worker's liveness: it touches a file every few seconds; the container health check reads it.

    python -m shared.heartbeat      # exits 0 when the file is fresh, 1 otherwise

A worker has no HTTP port of its own to probe, and a stuck consumer loop stops touching the file.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

DEFAULT_FILE = "/tmp/stepwise-worker.heartbeat"
STALE_AFTER_SECONDS = 60.0


def heartbeat_path() -> Path:
    return Path(os.environ.get("WORKER_HEARTBEAT_FILE", DEFAULT_FILE))


def beat(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(time.time()))


def run(path: Path, stop: threading.Event, every_seconds: float = 5.0) -> None:
    while not stop.is_set():
        beat(path)
        stop.wait(every_seconds)


def is_fresh(path: Path, now: float | None = None, stale_after: float = STALE_AFTER_SECONDS) -> bool:
    try:
        age = (now if now is not None else time.time()) - path.stat().st_mtime
    except FileNotFoundError:
        return False
    return age < stale_after


if __name__ == "__main__":
    sys.exit(0 if is_fresh(heartbeat_path()) else 1)
