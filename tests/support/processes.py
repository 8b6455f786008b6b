"""Processes the tests start (gunicorn, workers): whether one answers yet, and stopping them."""
from __future__ import annotations

import subprocess
from collections.abc import Iterable

import requests


def answers(url: str) -> bool:
    """Whether ``url`` answers 200: False while the process is not listening yet, so that
    ``wait_for`` polls again."""
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def stop(processes: Iterable[subprocess.Popen], timeout: float = 20) -> None:
    """SIGTERM to each (all of them first, so they shut down together), then wait for each and
    kill one that has not exited within ``timeout`` seconds."""
    started = list(processes)
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
