"""``/healthz`` (the process is alive), ``/readyz`` (its dependencies answer) and ``/metrics``.

``/readyz`` answers 503 naming the dependency that failed, so an orchestrator stops routing to
a replica that cannot reach MongoDB or RabbitMQ and an operator sees which one at a glance.
They are in the OpenAPI document, without authentication, like every other route.
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from shared import metrics
from shared.errors import PROBLEM_MIMETYPE, problem_response
from shared.events import amqp
from shared.schemas import ProblemSchema

Check = Callable[[], None]
PUBLIC = {"security": []}


def mongodb_check(database) -> Check:
    return database.ping


def rabbitmq_check(url: str) -> Check:
    def check() -> None:
        amqp.connect(url, heartbeat=0).close()

    return check


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "ok"})


class ReadySchema(Schema):
    status = fields.String(metadata={"description": "ready"})
    checks = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "each dependency: ok"})


class NotReadySchema(ProblemSchema):
    checks = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "each dependency's state"})


def operations_blueprint(checks: Mapping[str, Check], collectors: Iterable[object]) -> Blueprint:
    blueprint = Blueprint("operations", __name__, description="Health, readiness and metrics, for ops.")

    @blueprint.get("/healthz")
    @blueprint.doc(**PUBLIC)
    @blueprint.response(200, HealthSchema)
    def healthz():
        """The process is alive."""
        return {"status": "ok"}

    @blueprint.get("/readyz")
    @blueprint.doc(**PUBLIC)
    @blueprint.response(200, ReadySchema)
    @blueprint.alt_response(503, schema=NotReadySchema, content_type=PROBLEM_MIMETYPE, description="Not ready")
    def readyz():
        """Every dependency answers; 503 names the one that does not."""
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                check()
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"unavailable: {exc.__class__.__name__}"
        failing = sorted(name for name, result in results.items() if result != "ok")
        if failing:
            return problem_response(503, f"Not ready: {', '.join(failing)} unreachable", checks=results)
        return {"status": "ready", "checks": results}

    @blueprint.get("/metrics")
    @blueprint.doc(**PUBLIC, responses={"200": {"description": "Prometheus text format", "content": {"text/plain": {}}}})
    def metrics_page() -> Response:
        """Prometheus metrics of every worker process of this API, and the outbox backlog."""
        body, content_type = metrics.render(collectors)
        return Response(body, content_type=content_type)

    return blueprint
