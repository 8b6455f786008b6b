"""The access audit's route lists: an app with a route of its blueprints in none of them, or a
list naming a route the app does not serve, does not start (shared.audit.RouteAudit.check)."""
from __future__ import annotations

import pytest
from flask import Blueprint, Flask

from shared.audit import CHANGE, READ, RouteAudit, blp as audit_blueprint


def app_with(*rules: tuple[str, str]) -> Flask:
    """An app whose blueprint "goals" serves ``rules``, with the audit's route and an operational one."""
    app = Flask(__name__)
    goals = Blueprint("goals", __name__)
    for method, rule in rules:
        goals.add_url_rule(rule, f"{method} {rule}", lambda **_: "", methods=[method])
    app.register_blueprint(goals)
    app.register_blueprint(audit_blueprint)
    app.add_url_rule("/healthz", "healthz", lambda: "", methods=["GET"])
    return app


SERVED = (("GET", "/v1/goals/<goal_id>"), ("POST", "/v1/goals"), ("POST", "/v1/goals/smart-check"))


def test_every_route_listed_once_passes_and_says_what_it_does():
    routes = RouteAudit(reads=["GET /v1/goals/<goal_id>"], changes=["POST /v1/goals"], others=["POST /v1/goals/smart-check"])
    routes.check(app_with(*SERVED), ["goals"])
    assert routes.action("GET /v1/goals/<goal_id>") == READ
    assert routes.action("POST /v1/goals") == CHANGE
    assert routes.action("POST /v1/goals/smart-check") is None


@pytest.mark.parametrize("routes, problem", [
    (RouteAudit(reads=["GET /v1/goals/<goal_id>"], changes=[], others=["POST /v1/goals/smart-check"]),
     "not listed: ['POST /v1/goals']"),
    (RouteAudit(reads=["GET /v1/goals/<goal_id>", "GET /v1/goals"], changes=["POST /v1/goals"],
                others=["POST /v1/goals/smart-check"]), "listed but not served: ['GET /v1/goals']"),
    (RouteAudit(reads=["GET /v1/goals/<goal_id>"], changes=["POST /v1/goals"],
                others=["POST /v1/goals/smart-check", "POST /v1/goals"]), "listed twice: ['POST /v1/goals']"),
])
def test_a_route_left_out_unknown_or_listed_twice_stops_the_app(routes, problem):
    with pytest.raises(RuntimeError) as stopped:
        routes.check(app_with(*SERVED), ["goals"])
    assert problem in str(stopped.value)
