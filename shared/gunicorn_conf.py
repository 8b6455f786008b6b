"""Gunicorn settings every API shares; each service's ``gunicorn.conf.py`` applies them.

Sets up prometheus-client's multiprocess mode before the app is imported (so every worker
process writes its metrics where ``/metrics`` can add them up), and tells it when a worker
exits so that its gauges do not linger.

gunicorn's own log lines (start-up, workers booting and exiting, errors, and the access log when
one is asked for, e.g. ``--access-logfile -``) are the services' JSON lines (``shared.logs``). An
access line names the method, status, size, time and request id, never the path or query: a path
holds client ids (the app's own ``request`` line names the route template instead).

Request line and header limits sit above the app's own (``shared.guards``), which answer
problem+json 414 and 431: gunicorn's plain answer is only the backstop for requests too large
to be worth parsing at all.
"""
from __future__ import annotations

import multiprocessing
import os
import tempfile
from datetime import timedelta
from typing import TYPE_CHECKING, Any, MutableMapping

from gunicorn.glogging import Logger

from shared import guards
from shared.logs import REQUEST_ID_HEADER, JsonFormatter

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.config import Config
    from gunicorn.http import Request
    from gunicorn.http.wsgi import Response
    from gunicorn.workers.base import Worker

# The most gunicorn allows for the request line; the app's limit on the target is half of it.
LIMIT_REQUEST_LINE = 8190
LIMIT_REQUEST_FIELDS = 2 * guards.MAX_HEADER_FIELDS
LIMIT_REQUEST_FIELD_SIZE = 2 * guards.MAX_HEADER_FIELD_BYTES


def json_logger(service: str) -> type[Logger]:
    """gunicorn's logger class for ``service``, writing JSON lines."""

    class JsonLogger(Logger):
        def setup(self, cfg: Config) -> None:
            super().setup(cfg)
            formatter = JsonFormatter(service)
            for logger in (self.error_log, self.access_log):
                for handler in logger.handlers:
                    handler.setFormatter(formatter)

        def access(self, resp: Response, req: Request, environ: MutableMapping[str, Any], request_time: timedelta) -> None:
            if not self.access_log_enabled:
                return
            request_id = next((value for name, value in resp.headers if name.lower() == REQUEST_ID_HEADER.lower()), None)
            self.access_log.info("access", extra={
                "method": environ.get("REQUEST_METHOD"),
                "status": resp.status_code,
                "bytes": getattr(resp, "sent", None),
                "ms": round(request_time.total_seconds() * 1000, 1),
                **({"correlation_id": request_id} if request_id else {}),
            })

    return JsonLogger


def settings(service: str, default_port: int) -> dict[str, Any]:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="stepwise-prometheus-")
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

    def child_exit(server: Arbiter, worker: Worker) -> None:
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
        "logger_class": json_logger(service),
        "limit_request_line": LIMIT_REQUEST_LINE,
        "limit_request_fields": LIMIT_REQUEST_FIELDS,
        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
        "child_exit": child_exit,
    }
