"""What every notifications route shares: the caller's scope and the clock (documented problems
are in shared.api)."""
from __future__ import annotations

from datetime import datetime

from shared.app import service_context
from shared.auth import Principal
from shared.errors import Problem
from shared.mongo import Database

# The webhook target rules the API checks subscriptions against (``adapters.webhook_client.Targets``).
TARGETS = "webhook_targets"

# Roles that administer a tenant's notifications on behalf of others (people and machines).
ADMINISTRATORS = ("admin", "service")


def database() -> Database:
    return service_context().database


def now() -> datetime:
    return service_context().clock.now()


def setting(name: str):
    return service_context().settings[name]


def webhook_targets():
    return service_context().extras[TARGETS]


def not_found(what: str) -> Problem:
    return Problem(404, f"No {what} with this id")


def require_self_or_administrator(principal: Principal, user_id: str, action: str) -> None:
    """A person acts on their own records; admins and services may act on anyone's in their tenant."""
    if user_id != principal.sub and principal.role not in ADMINISTRATORS:
        raise Problem(403, f"Only admins may {action} for another person")
