"""``/healthz`` (liveness: the process answers), ``/readyz`` (readiness) and ``/metrics``.

``/readyz`` asks MongoDB only. An API cannot serve a request without its database, so a replica
that cannot reach it leaves the load balancer (503, naming ``mongodb``). RabbitMQ is not asked:
an API only writes events to the outbox, which holds them while the broker is away, so a broker
outage must not take every API replica out of service. The check is cheap because the probes
are frequent and unauthenticated: a ``ping`` on the process's pooled client (no new connection
per call), bounded by ``READY_TIMEOUT_SECONDS`` so that a database outage answers promptly
instead of holding a server process until a probe gives up.

``/healthz`` asks nothing: a liveness probe that followed the database would restart every
replica during a database outage, which cures nothing.

They are in the OpenAPI document, without authentication, like every other route.
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

import pymongo
from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from shared import metrics
from shared.errors import PROBLEM_MIMETYPE, problem_body, problem_response
from shared.schemas import ProblemSchema

Check = Callable[[], None]
PUBLIC = {"security": []}
# Below the probes' own timeout (3 s in the Helm chart and Compose), so the answer is a 503 that
# names the database rather than a probe timeout that names nothing.
READY_TIMEOUT_SECONDS = 2.0
METRICS_EXAMPLE = """# HELP stepwise_http_requests_total Multiprocess metric
# TYPE stepwise_http_requests_total counter
stepwise_http_requests_total{method="GET",route="/v1/goals/<goal_id>",status="200"} 42.0
"""


def mongodb_check(database) -> Check:
    def check() -> None:
        with pymongo.timeout(READY_TIMEOUT_SECONDS):
            database.ping()

    return check


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "ok"})


class ReadySchema(Schema):
    status = fields.String(metadata={"description": "ready"})
    checks = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "each dependency: ok"})


class NotReadySchema(ProblemSchema):
    checks = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "each dependency's state"})


HEALTHZ, READYZ, METRICS = "/healthz", "/readyz", "/metrics"
# Probed and scraped every few seconds: not traced (each would be a trace of its own).
OPERATIONS_PATHS = (HEALTHZ, READYZ, METRICS)


def operations_blueprint(checks: Mapping[str, Check], collectors: Iterable[object]) -> Blueprint:
    blueprint = Blueprint("operations", __name__, description="Health, readiness and metrics, for ops.")

    @blueprint.get(HEALTHZ)
    @blueprint.doc(**PUBLIC)
    @blueprint.response(200, HealthSchema, example={"status": "ok"})
    def healthz():
        """The process is alive."""
        return {"status": "ok"}

    @blueprint.get(READYZ)
    @blueprint.doc(**PUBLIC)
    @blueprint.response(200, ReadySchema, example={"status": "ready", "checks": {"mongodb": "ok"}})
    @blueprint.alt_response(
        503, schema=NotReadySchema, content_type=PROBLEM_MIMETYPE, description="Not ready",
        example=problem_body(
            503, "Not ready: mongodb unreachable", checks={"mongodb": "unavailable: ServerSelectionTimeoutError"}
        ),
    )
    def readyz():
        """MongoDB answers (RabbitMQ is not asked: the outbox holds events while it is away); 503 names what does not."""
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

    @blueprint.get(METRICS)
    @blueprint.doc(**PUBLIC, responses={"200": {"description": "Prometheus text format", "content": {"text/plain": {
        "schema": {"type": "string"}, "example": METRICS_EXAMPLE,
    }}}})
    def metrics_page() -> Response:
        """Prometheus metrics of every worker process of this API, and the outbox backlog."""
        body, content_type = metrics.render(collectors)
        return Response(body, content_type=content_type)

    return blueprint
