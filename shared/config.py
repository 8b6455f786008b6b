"""Configuration from the environment, with the contract's defaults.

A bad value stops start-up with a message that names the variable and says what is wrong,
because a service that starts half-configured fails later in ways that are much harder to trace.
The message never repeats the value: it may be a secret, and start-up errors end up in logs.

Secrets (``SECRET_VARIABLES``) may instead be read from a file: ``JWT_SECRET_FILE=/run/secrets/jwt``
(Docker and Kubernetes secrets), the file's text without its trailing newline. Setting both
``X`` and ``X_FILE`` is an error, so it is never unclear which one is in force.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TypeVar
from urllib.parse import unquote, urlsplit

import pika
from pymongo.errors import PyMongoError
from pymongo.uri_parser import parse_uri

from shared import tracing
from shared.events.amqp import node_urls

DEFAULT_MONGO_URL = "mongodb://127.0.0.1:27017"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_EXCHANGE = "stepwise.events"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits).
MIN_JWT_SECRET_BYTES = 32
SECRET_VARIABLES = ("JWT_SECRET", "MONGO_URL", "AMQP_URL", "SMTP_URL")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the variable, never the value."""


def _scrubbed(message: str, url: str) -> str:
    """A library's complaint about ``url``, without the password it may quote. The user info runs
    to the last "@", so an unescaped "@" or "/" in a password cannot hide part of it."""
    rest = url.partition("://")[2]
    userinfo = rest.rpartition("@")[0]
    secrets = {userinfo, userinfo.partition(":")[2]}
    secrets |= {unquote(secret) for secret in secrets}
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


def url_with_scheme(*schemes: str) -> Callable[[str], str]:
    expected = f"expected a {' or '.join(schemes)} URL"

    def parse(value: str) -> str:
        try:
            parsed = urlsplit(value)
            parsed.port  # noqa: B018 (a port that is not a number raises here, not when it is used)
        except ValueError:
            raise ValueError(f"{expected} with a numeric port") from None
        if parsed.scheme not in schemes or not (parsed.hostname or parsed.path):
            raise ValueError(expected)
        return value

    return parse


def mongo_url(value: str) -> str:
    """A MongoDB connection string that pymongo accepts, checked now rather than on first use."""
    url_with_scheme("mongodb", "mongodb+srv")(value)
    if value.startswith("mongodb://"):  # a mongodb+srv:// one is checked when its DNS records are read
        try:
            parse_uri(value)
        except (PyMongoError, ValueError) as exc:
            raise ValueError(f"not a valid MongoDB URL: {_scrubbed(str(exc), value)}") from None
    return value


def amqp_url(value: str) -> str:
    """One AMQP URL per node of a cluster, comma-separated, each one that pika accepts, checked now
    rather than on first connection. A complaint names the URL by its position, never its text."""
    urls = node_urls(value)
    for position, url in enumerate(urls, start=1):
        where = f"URL {position} of {len(urls)}: " if len(urls) > 1 else ""
        try:
            url_with_scheme("amqp", "amqps")(url)
            pika.URLParameters(url)
        except ValueError as exc:
            raise ValueError(f"{where}{_scrubbed(str(exc), url)}") from None
        except TypeError as exc:
            raise ValueError(f"{where}not a valid AMQP URL: {_scrubbed(str(exc), url)}") from None
    return value


def jwks_url(value: str) -> str:
    """Where the identity provider publishes its keys: https, or http on this machine (tests)."""
    url_with_scheme("https", "http")(value)
    parsed = urlsplit(value)
    if parsed.scheme == "http" and parsed.hostname not in LOOPBACK_HOSTS:
        raise ValueError("expected an https URL (http only on a loopback address)")
    return value


def _number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError("expected a number") from None
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def positive_number(value: str) -> float:
    number = _number(value)
    if number <= 0:
        raise ValueError("must be greater than 0")
    return number


def non_negative_number(value: str) -> float:
    number = _number(value)
    if number < 0:
        raise ValueError("must be 0 or more")
    return number


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError("expected a whole number") from None
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


# Tracing is opt-in, unlike the OpenTelemetry SDK's own default (OTLP): a service sends nothing
# anywhere it was not told to. The OTLP exporter shipped is OTLP over HTTP (protobuf).
OTLP_PROTOCOL = "http/protobuf"


def traces_exporters(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    if not names or any(name not in (*tracing.EXPORTERS, "none") for name in names):
        raise ValueError(f"expected a comma-separated list of {', '.join(tracing.EXPORTERS)}, or none")
    return () if "none" in names else names


def otlp_protocol(value: str) -> str:
    if value != OTLP_PROTOCOL:
        raise ValueError(f"only {OTLP_PROTOCOL} is supported")
    return value


def log_level(value: str) -> str:
    level = value.upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return level


def jwt_secret(value: str) -> str:
    if len(value.encode()) < MIN_JWT_SECRET_BYTES:
        raise ValueError(f"must be at least {MIN_JWT_SECRET_BYTES} bytes for HS256")
    return value


def role_map(value: str) -> dict[str, str]:
    """``clinician=therapist,patient=client``: an identity provider's role names to Stepwise's
    (which roles exist is checked by ``shared.auth.tokens``, which owns them)."""
    mapping: dict[str, str] = {}
    for pair in value.split(","):
        if not pair.strip():
            continue
        theirs, sep, ours = (part.strip() for part in pair.partition("="))
        if not sep or not theirs or not ours:
            raise ValueError("expected comma-separated pairs such as clinician=therapist")
        mapping[theirs] = ours
    if not mapping:
        raise ValueError("expected comma-separated pairs such as clinician=therapist")
    return mapping


@dataclass(frozen=True)
class Option:
    """A service-specific setting: its variable, how to parse it, and its default."""

    env: str
    parse: Callable[[str], Any]
    default: Any
    help: str = ""


@dataclass(frozen=True)
class TokenSettings:
    """How bearer tokens are checked (``shared.auth.tokens``): a development secret (HS256), an
    identity provider's published keys (RS256/ES256 from a JWKS URL), or both."""

    secret: str | None = field(default=None, repr=False)
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    max_lifetime_seconds: float = 24 * 3600
    tenant_claim: str = "tenant"
    role_claim: str = "role"
    role_map: Mapping[str, str] = field(default_factory=dict)
    jwks_cache_seconds: float = 300.0
    jwks_timeout_seconds: float = 5.0
    jwks_min_refresh_seconds: float = 30.0


@dataclass(frozen=True)
class Settings:
    service: str
    # URLs may hold a password: kept out of repr() so a logged or printed Settings shows none.
    mongo_url: str = field(repr=False)
    amqp_url: str = field(repr=False)
    tokens: TokenSettings
    smtp_url: str | None = field(repr=False)
    log_level: str
    database: str
    exchange: str
    queue_prefix: str
    max_body_bytes: int
    outbox_poll_seconds: float
    retry_delays: tuple[float, ...]
    prefetch: int
    worker_metrics_port: int | None
    retention_days: int
    extra: Mapping[str, Any] = field(default_factory=dict)
    # Where spans go (shared.tracing); empty: tracing is off.
    traces_exporters: tuple[str, ...] = ()

    def __getitem__(self, env: str) -> Any:
        """A service-specific option by its variable name, e.g. settings["DUE_SOON_DAYS"]."""
        return self.extra[env]


def _raw(environ: Mapping[str, str], name: str) -> str | None:
    """The text of a setting; a secret's may come from the file its ``_FILE`` variable names."""
    value = environ.get(name) or None
    path = (environ.get(f"{name}_FILE") or None) if name in SECRET_VARIABLES else None
    if path is None:
        return value
    if value is not None:
        raise ConfigError(f"{name} and {name}_FILE are both set: set only one")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{name}_FILE names a file that cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{name}_FILE names a file that is not UTF-8 text") from None
    value = text.rstrip("\r\n")
    if not value:
        raise ConfigError(f"{name}_FILE names an empty file")
    return value


_Parsed = TypeVar("_Parsed")
_Default = TypeVar("_Default")


def _read(
    environ: Mapping[str, str], name: str, parse: Callable[[str], _Parsed], default: _Default, required: bool = False
) -> _Parsed | _Default:
    raw = _raw(environ, name)
    if raw is None:
        if required:
            raise ConfigError(f"{name} is not set")
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        # The reason, never the value: a parser that quotes it (as int() and float() do) is not repeated.
        reason = "it is not in the expected form" if repr(raw) in str(exc) else str(exc)
        raise ConfigError(f"{name} is invalid: {reason}") from None


def _text(value: str) -> str:
    return value


def load_token_settings(env: Mapping[str, str]) -> TokenSettings:
    """``JWT_*``: a secret, or an identity provider's keys with the issuer and audience to expect."""
    secret = _read(env, "JWT_SECRET", jwt_secret, None)
    keys_url = _read(env, "JWT_JWKS_URL", jwks_url, None)
    if secret is None and keys_url is None:
        raise ConfigError(
            "JWT_SECRET is not set: set it (or JWT_SECRET_FILE) for HS256 tokens, "
            "or JWT_JWKS_URL (with JWT_ISSUER and JWT_AUDIENCE) for an identity provider's"
        )
    issuer = _read(env, "JWT_ISSUER", _text, None)
    audience = _read(env, "JWT_AUDIENCE", _text, None)
    for name, value in (("JWT_ISSUER", issuer), ("JWT_AUDIENCE", audience)):
        if keys_url is not None and value is None:
            raise ConfigError(f"{name} is not set: it is required with JWT_JWKS_URL")
    return TokenSettings(
        secret=secret,
        jwks_url=keys_url,
        issuer=issuer,
        audience=audience,
        max_lifetime_seconds=_read(env, "JWT_MAX_LIFETIME_SECONDS", positive_number, 24 * 3600.0),
        tenant_claim=_read(env, "JWT_TENANT_CLAIM", _text, "tenant"),
        role_claim=_read(env, "JWT_ROLE_CLAIM", _text, "role"),
        role_map=_read(env, "JWT_ROLE_MAP", role_map, {}),
        jwks_cache_seconds=_read(env, "JWT_JWKS_CACHE_SECONDS", positive_number, 300.0),
        jwks_timeout_seconds=_read(env, "JWT_JWKS_TIMEOUT_SECONDS", positive_number, 5.0),
        jwks_min_refresh_seconds=_read(env, "JWT_JWKS_MIN_REFRESH_SECONDS", non_negative_number, 30.0),
    )


def load_traces_exporters(env: Mapping[str, str]) -> tuple[str, ...]:
    """``OTEL_TRACES_EXPORTER`` (none when unset), unless ``OTEL_SDK_DISABLED`` is ``true``; the
    OTLP exporter's protocol is checked here, the rest of its ``OTEL_*`` settings by the SDK."""
    if (env.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true":
        return ()
    exporters = _read(env, "OTEL_TRACES_EXPORTER", traces_exporters, ())
    if "otlp" in exporters:
        # The signal's own variable wins over the general one, as in the SDK.
        name = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" if env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") else "OTEL_EXPORTER_OTLP_PROTOCOL"
        _read(env, name, otlp_protocol, OTLP_PROTOCOL)
    return exporters


def load_settings(
    service: str,
    environ: Mapping[str, str] | None = None,
    options: Sequence[Option] = (),
) -> Settings:
    """Read the contract's variables and the service's own ``options``; raise ConfigError on a bad one."""
    env = os.environ if environ is None else environ
    return Settings(
        service=service,
        mongo_url=_read(env, "MONGO_URL", mongo_url, DEFAULT_MONGO_URL),
        amqp_url=_read(env, "AMQP_URL", amqp_url, DEFAULT_AMQP_URL),
        tokens=load_token_settings(env),
        smtp_url=_read(env, "SMTP_URL", url_with_scheme("smtp", "smtps"), None),
        log_level=_read(env, "LOG_LEVEL", log_level, "INFO"),
        database=_read(env, "MONGO_DATABASE", _text, f"stepwise_{service}"),
        exchange=_read(env, "EVENTS_EXCHANGE", _text, DEFAULT_EXCHANGE),
        queue_prefix=_read(env, "QUEUE_PREFIX", _text, "stepwise"),
        max_body_bytes=_read(env, "MAX_BODY_BYTES", positive_int, 1024 * 1024),
        outbox_poll_seconds=_read(env, "OUTBOX_POLL_SECONDS", positive_number, 0.05),
        retry_delays=_read(env, "RETRY_DELAYS", number_list, (1.0, 5.0, 30.0)),
        prefetch=_read(env, "PREFETCH", positive_int, 128),
        worker_metrics_port=_read(env, "WORKER_METRICS_PORT", port_or_off, DEFAULT_WORKER_METRICS_PORT),
        retention_days=_read(env, "BOOKKEEPING_RETENTION_DAYS", positive_int, 14),
        extra={opt.env: _read(env, opt.env, opt.parse, opt.default) for opt in options},
        traces_exporters=load_traces_exporters(env),
    )
