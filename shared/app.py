"""The app factory helper: every service's ``create_app`` wires the same way through it.

It builds the Flask app with flask-smorest (OpenAPI at ``/openapi.json`` from the marshmallow
schemas, completed by ``shared.apidocs``; Swagger UI at ``/docs``, served by the service itself:
``shared.swagger_ui``), problem+json errors and request guards, the access audit
(``shared.audit``, ``GET /v1/audit``), JSON logs with a request id, a span per request when
tracing is on (``shared.tracing``), Prometheus metrics at ``/metrics``, ``/healthz`` and
``/readyz``, and keeps the service's settings, database and clock where routes find them
(``service_context()``).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from flask import Flask, Response, current_app, g, request
from flask_smorest import Api

from shared import metrics, tracing
from shared.apidocs import ApiDocs, Examples
from shared.audit import RouteAudit, blp as audit_blueprint, install_audit
from shared.auth import install_token_verifier
from shared.clock import SystemClock
from shared.config import Settings
from shared.errors import install_error_handlers
from shared.events.outbox import backlog_metrics
from shared.guards import install_guards
from shared.health import OPERATIONS_PATHS, mongodb_check, operations_blueprint
from shared.logs import REQUEST_ID_HEADER, configure_logging, correlation_id, new_correlation_id
from shared.mongo import Database
from shared.schemas import ProblemSchema
from shared.swagger_ui import docs_blueprint

log = logging.getLogger(__name__)


class _Api(Api):
    # flask-smorest documents an error of its own (JSON, never sent) as every operation's default;
    # errors are problem+json (shared.errors), which ApiDocs documents instead. The error answers
    # it registers for later use name our schema, so no unused one is left in the documents.
    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None


@dataclass
class ServiceContext:
    """What a service's routes need besides the request: configuration, storage, time."""

    settings: Settings
    database: Database
    clock: Any = field(default_factory=SystemClock)
    extras: dict[str, Any] = field(default_factory=dict)


def service_context() -> ServiceContext:
    return current_app.extensions["stepwise"]


def _start_request() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else new_correlation_id()
    g.request_id = request_id
    g.correlation_token = correlation_id.set(request_id)
    g.started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    # The route template, never the path: a path holds client ids, and logs must not collect them.
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    started = g.get("started")
    elapsed = time.perf_counter() - started if started is not None else 0.0
    if started is not None:
        metrics.HTTP_LATENCY.labels(route, request.method).observe(elapsed)
    tracing.name_request(request.method, route)
    log.info(
        "request",
        extra={"method": request.method, "route": route, "status": response.status_code, "ms": round(elapsed * 1000, 1)},
    )
    metrics.HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
    if g.get("request_id"):
        response.headers[REQUEST_ID_HEADER] = g.request_id
    return response


def _end_request(_exc: BaseException | None) -> None:
    token = g.pop("correlation_token", None)
    if token is not None:
        correlation_id.reset(token)


def create_service_app(
    *,
    settings: Settings,
    database: Database,
    title: str,
    description: str,
    blueprints: Sequence[Any],
    audited: RouteAudit,
    clock: Any = None,
    extras: dict[str, Any] | None = None,
    examples: Examples | None = None,
) -> Flask:
    configure_logging(settings.service, settings.log_level)
    tracing.configure(f"stepwise-{settings.service}", settings.traces_exporters)
    app = Flask(f"stepwise.{settings.service}")
    app.config.update(
        API_TITLE=title,
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": description},
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            },
            "security": [{"bearerAuth": []}],
        },
    )
    context = ServiceContext(settings, database, clock or SystemClock(), dict(extras or {}))
    app.extensions["stepwise"] = context

    api = _Api(app, spec_kwargs={"extra_plugins": [ApiDocs(examples or Examples())]})
    collectors = [backlog_metrics(database), metrics.BuildInfo(settings.service)]
    # Readiness follows the database only: see shared/health.py for why not the broker.
    checks = {"mongodb": mongodb_check(database)}
    for blueprint in (operations_blueprint(checks, collectors), *blueprints, audit_blueprint):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs_blueprint(title))
    # flask-smorest installs its own error handler; ours replaces it so every error is problem+json.
    install_error_handlers(app)
    install_guards(app, settings.max_body_bytes)
    install_token_verifier(app, settings.tokens)

    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)
    # Last, so that its answer hook runs first: an answer withheld for want of its audit record
    # is the one logged and counted.
    install_audit(app, database, context.clock, audited, [blueprint.name for blueprint in blueprints])
    app.wsgi_app = tracing.traced_wsgi(app.wsgi_app, untraced_paths=OPERATIONS_PATHS)

    return app
