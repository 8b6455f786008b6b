"""JSON logs with a correlation id that follows a request into the events it causes.

The correlation id lives in a context variable: the web layer sets it from ``X-Request-ID``
(or makes one), new events copy it into their ``correlationid`` attribute, and a consumer sets
it from the event it handles, so one id ties an HTTP call to every reaction downstream. A line
logged inside a trace (``shared.tracing``) carries its ``trace_id``; so does every line logged
while an event that carries W3C trace context (the CloudEvents ``traceparent`` extension) is
handled (``event_log_context``), whether tracing is on in this process or not. Work done later
on an event's behalf (a delivery) keeps both ids with it (``current_log_ids``) and logs under them.

Never log request or event bodies: they carry health data. Log ids, routes and outcomes.
Never log a secret either: every line passes through ``redact``, which hides the password of
any URL in it (a ``MONGO_URL`` quoted in a driver's error, say), as a last line of defence.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
import contextlib
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

from shared.tracing import current_trace_id

# The header a request's correlation id arrives and is answered in.
REQUEST_ID_HEADER = "X-Request-ID"
correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)
# W3C Trace Context: version-traceid-parentid-flags (https://www.w3.org/TR/trace-context/#traceparent-header).
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged as a field.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


# The password of a URL's user info: ``scheme://user:password@``. It runs to the last "@" before
# a space, so a password holding an unescaped "@" is hidden whole (hiding too much is harmless).
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)\S*@")


def redact(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\1***@", text)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def trace_id_of(traceparent: object) -> str | None:
    """The trace id of a W3C ``traceparent`` value (None when there is none or it is malformed)."""
    found = _TRACEPARENT.match(traceparent) if isinstance(traceparent, str) else None
    return found.group(1) if found else None


@contextlib.contextmanager
def log_context(correlation: str | None = None, trace: str | None = None) -> Iterator[None]:
    """Lines logged inside carry ``correlation`` as ``correlation_id`` and ``trace`` as ``trace_id``."""
    tokens = correlation_id.set(correlation), trace_id.set(trace)
    try:
        yield
    finally:
        correlation_id.reset(tokens[0])
        trace_id.reset(tokens[1])


def event_log_context(event: Mapping[str, Any]) -> contextlib.AbstractContextManager[None]:
    """The log context of handling ``event``: its correlation id and its trace id, if any."""
    correlation = event.get("correlationid")
    return log_context(correlation if isinstance(correlation, str) else None, trace_id_of(event.get("traceparent")))


def current_log_ids() -> dict[str, str]:
    """The ids of the current log context, to store with work done later on its behalf
    (``log_context(**ids)`` logs under them again)."""
    ids = {"correlation": correlation_id.get(), "trace": trace_id.get()}
    return {name: value for name, value in ids.items() if value}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field, variable in (("correlation_id", correlation_id), ("trace_id", trace_id)):
            if ids := variable.get():
                entry[field] = ids
        if "trace_id" not in entry and (current := current_trace_id()):
            entry["trace_id"] = current
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON lines to stderr; calling it again (tests, reloads) replaces the handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pika logs every connection step at INFO; keep its warnings only.
    logging.getLogger("pika").setLevel(logging.WARNING)
