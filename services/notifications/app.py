"""``create_app`` for the notifications API: ``gunicorn -c services/notifications/gunicorn.conf.py "services.notifications.app:create_app()"``."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.notifications import config
from services.notifications.adapters.webhook_client import Resolver, Targets, system_resolver
from services.notifications.api import AUDITED, blueprints
from services.notifications.api.common import TARGETS
from shared.apidocs import Examples
from shared.app import create_service_app
from shared.config import Settings
from shared.mongo import Database

EXAMPLES = Examples.load(Path(__file__).parent / "api" / "examples.json")


def create_app(settings: Settings | None = None, clock=None, resolver: Resolver = system_resolver) -> Flask:
    """``resolver`` looks up webhook hosts at registration (``adapters.webhook_client``)."""
    settings = settings or config.load()
    return create_service_app(
        settings=settings,
        database=Database(settings.mongo_url, settings.database, config.INDEXES),
        title="Stepwise notifications",
        description="Inbox, email, webhooks, preferences, care teams and risk alerts.",
        blueprints=blueprints(),
        audited=AUDITED,
        clock=clock,
        extras={TARGETS: Targets(settings["WEBHOOK_ALLOWED_HOSTS"], resolver)},
        examples=EXAMPLES,
    )
