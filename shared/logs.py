"""JSON logs with a correlation id that follows a request into the events it causes.

The correlation id lives in a context variable: the web layer sets it from ``X-Request-ID``
(or makes one), new events copy it into their ``correlationid`` attribute, and a consumer sets
it from the event it handles, so one id ties an HTTP call to every reaction downstream.

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
from datetime import datetime, timezone

# The header a request's correlation id arrives and is answered in.
REQUEST_ID_HEADER = "X-Request-ID"
correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)

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


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = correlation_id.get()
        if request_id:
            entry["correlation_id"] = request_id
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
