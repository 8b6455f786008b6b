"""Configuration from the environment, with the contract's defaults.

A bad value stops start-up with a message that names the variable, because a service that
starts half-configured fails later in ways that are much harder to trace.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlparse

DEFAULT_MONGO_URL = "mongodb://127.0.0.1:27017"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_EXCHANGE = "stepwise.events"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits).
MIN_JWT_SECRET_BYTES = 32


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the variable."""


def url_with_scheme(*schemes: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in schemes or not (parsed.hostname or parsed.path):
            raise ValueError(f"expected a {' or '.join(schemes)} URL")
        return value

    return parse


def positive_number(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("must be greater than 0")
    return number


def positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a whole number greater than 0")
    return number


def number_list(value: str) -> tuple[float, ...]:
    numbers = tuple(positive_number(part) for part in value.split(",") if part.strip())
    if not numbers:
        raise ValueError("expected a comma-separated list of positive numbers")
    return numbers


# Every worker serves its metrics unless told not to: a worker that publishes nothing cannot be
# monitored, and ops should not have to remember to switch it on (node-exporter's port, by habit).
DEFAULT_WORKER_METRICS_PORT = 9100


def port_or_off(value: str) -> int | None:
    """A TCP port, or None for ``0``/``off`` (the feature is switched off)."""
    if value.strip().lower() in ("0", "off"):
        return None
    expected = "expected a port between 1 and 65535, or 0/off"
    try:
        port = int(value)
    except ValueError:
        raise ValueError(expected) from None
    if not 0 < port < 65536:
        raise ValueError(expected)
    return port


def log_level(value: str) -> str:
    level = value.upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return level


def jwt_secret(value: str) -> str:
    if len(value.encode()) < MIN_JWT_SECRET_BYTES:
        raise ValueError(f"must be at least {MIN_JWT_SECRET_BYTES} bytes for HS256")
    return value


@dataclass(frozen=True)
class Option:
    """A service-specific setting: its variable, how to parse it, and its default."""

    env: str
    parse: Callable[[str], Any]
    default: Any
    help: str = ""


@dataclass(frozen=True)
class Settings:
    service: str
    mongo_url: str
    amqp_url: str
    jwt_secret: str
    smtp_url: str | None
    log_level: str
    database: str
    exchange: str
    queue_prefix: str
    max_body_bytes: int
    outbox_poll_seconds: float
    retry_delays: tuple[float, ...]
    prefetch: int
    worker_metrics_port: int | None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, env: str) -> Any:
        """A service-specific option by its variable name, e.g. settings["DUE_SOON_DAYS"]."""
        return self.extra[env]


def _read(
    environ: Mapping[str, str], name: str, parse: Callable[[str], Any], default: Any, required: bool = False
) -> Any:
    raw = environ.get(name)
    if raw is None or raw == "":
        if required:
            raise ConfigError(f"{name} is not set")
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is invalid: {exc}") from None


def _text(value: str) -> str:
    return value


def load_settings(
    service: str,
    environ: Mapping[str, str] | None = None,
    options: Sequence[Option] = (),
) -> Settings:
    """Read the contract's variables and the service's own ``options``; raise ConfigError on a bad one."""
    env = os.environ if environ is None else environ
    return Settings(
        service=service,
        mongo_url=_read(env, "MONGO_URL", url_with_scheme("mongodb", "mongodb+srv"), DEFAULT_MONGO_URL),
        amqp_url=_read(env, "AMQP_URL", url_with_scheme("amqp", "amqps"), DEFAULT_AMQP_URL),
        jwt_secret=_read(env, "JWT_SECRET", jwt_secret, None, required=True),
        smtp_url=_read(env, "SMTP_URL", url_with_scheme("smtp", "smtps"), None),
        log_level=_read(env, "LOG_LEVEL", log_level, "INFO"),
        database=_read(env, "MONGO_DATABASE", _text, f"stepwise_{service}"),
        exchange=_read(env, "EVENTS_EXCHANGE", _text, DEFAULT_EXCHANGE),
        queue_prefix=_read(env, "QUEUE_PREFIX", _text, "stepwise"),
        max_body_bytes=_read(env, "MAX_BODY_BYTES", positive_int, 1024 * 1024),
        outbox_poll_seconds=_read(env, "OUTBOX_POLL_SECONDS", positive_number, 0.2),
        retry_delays=_read(env, "RETRY_DELAYS", number_list, (1.0, 5.0, 30.0)),
        prefetch=_read(env, "PREFETCH", positive_int, 32),
        worker_metrics_port=_read(env, "WORKER_METRICS_PORT", port_or_off, DEFAULT_WORKER_METRICS_PORT),
        extra={opt.env: _read(env, opt.env, opt.parse, opt.default) for opt in options},
    )
