"""``/healthz`` (the process is alive) and ``/readyz`` (its dependencies answer).

``/readyz`` answers 503 naming the dependency that failed, so an orchestrator stops routing to
a replica that cannot reach MongoDB or RabbitMQ and an operator sees which one at a glance.
"""
from __future__ import annotations

from typing import Callable, Mapping

from flask import Blueprint, Response, jsonify

from shared.errors import problem_response
from shared.events import amqp

Check = Callable[[], None]


def mongodb_check(database) -> Check:
    return database.ping


def rabbitmq_check(url: str) -> Check:
    def check() -> None:
        amqp.connect(url, heartbeat=0).close()

    return check


def health_blueprint(checks: Mapping[str, Check]) -> Blueprint:
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @blueprint.get("/readyz")
    def readyz() -> Response:
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
        return jsonify(status="ready", checks=results)

    return blueprint
