"""What every notifications route shares: the caller's scope, the clock, documented problems."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from flask_smorest import Blueprint

from shared.app import service_context
from shared.auth import Principal
from shared.errors import TITLES, Problem
from shared.mongo import Database
from shared.schemas import ProblemSchema

# Roles that administer a tenant's notifications on behalf of others (people and machines).
ADMINISTRATORS = ("admin", "service")


def database() -> Database:
    return service_context().database


def now() -> datetime:
    return service_context().clock.now()


def setting(name: str):
    return service_context().settings[name]


def problems(blueprint: Blueprint, *statuses: int) -> Callable:
    """Document the problem responses a route can answer (they are produced by shared.errors)."""

    def decorate(view: Callable) -> Callable:
        for status in statuses:
            view = blueprint.alt_response(
                status, schema=ProblemSchema, description=TITLES[status], content_type="application/problem+json"
            )(view)
        return view

    return decorate


def not_found(what: str) -> Problem:
    return Problem(404, f"No {what} with this id")


def require_self_or_administrator(principal: Principal, user_id: str, action: str) -> None:
    """A person acts on their own records; admins and services may act on anyone's in their tenant."""
    if user_id != principal.sub and principal.role not in ADMINISTRATORS:
        raise Problem(403, f"Only admins may {action} for another person")
