"""``create_app`` for the goals API: ``gunicorn -c services/goals/gunicorn.conf.py "services.goals.app:create_app()"``."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.goals import config
from services.goals.api import AUDITED, blueprints
from shared.apidocs import Examples
from shared.app import create_service_app
from shared.config import Settings
from shared.mongo import Database

EXAMPLES = Examples.load(Path(__file__).parent / "api" / "examples.json")


def create_app(settings: Settings | None = None, clock=None) -> Flask:
    settings = settings or config.load()
    return create_service_app(
        settings=settings,
        database=Database(settings.mongo_url, settings.database, config.INDEXES),
        title="Stepwise goals",
        description="SMART goals, milestones, progress, revisions and goal attainment scaling.",
        blueprints=blueprints(),
        audited=AUDITED,
        clock=clock,
        examples=EXAMPLES,
    )
