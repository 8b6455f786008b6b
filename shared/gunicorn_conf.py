"""Gunicorn settings every API shares; each service's ``gunicorn.conf.py`` applies them.

Sets up prometheus-client's multiprocess mode before the app is imported (so every worker
process writes its metrics where ``/metrics`` can add them up), and tells it when a worker
exits so that its gauges do not linger.

Request line and header limits sit above the app's own (``shared.guards``), which answer
problem+json 414 and 431: gunicorn's plain answer is only the backstop for requests too large
to be worth parsing at all.
"""
from __future__ import annotations

import multiprocessing
import os
import tempfile

from shared import guards

# The most gunicorn allows for the request line; the app's limit on the target is half of it.
LIMIT_REQUEST_LINE = 8190
LIMIT_REQUEST_FIELDS = 2 * guards.MAX_HEADER_FIELDS
LIMIT_REQUEST_FIELD_SIZE = 2 * guards.MAX_HEADER_FIELD_BYTES


def settings(default_port: int) -> dict:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="stepwise-prometheus-")
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

    def child_exit(server, worker) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

    return {
        "bind": f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', default_port)}",
        "workers": int(os.environ.get("WEB_CONCURRENCY", min(4, 2 * multiprocessing.cpu_count()))),
        # A request mostly waits for the database: threads let a process serve others meanwhile
        # (gunicorn's gthread worker), without a process's memory for each.
        "threads": int(os.environ.get("GUNICORN_THREADS", 4)),
        "timeout": 30,
        "graceful_timeout": 20,
        "accesslog": None,
        "limit_request_line": LIMIT_REQUEST_LINE,
        "limit_request_fields": LIMIT_REQUEST_FIELDS,
        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
        "child_exit": child_exit,
    }
