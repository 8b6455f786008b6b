"""``create_app`` for the questionnaires API: ``gunicorn -c services/questionnaires/gunicorn.conf.py "services.questionnaires.app:create_app()"``."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.questionnaires import config
from services.questionnaires.api import AUDITED, blueprints
from services.questionnaires.domain import load_builtin_instruments
from shared.apidocs import Examples
from shared.app import create_service_app
from shared.config import Settings
from shared.mongo import Database

EXAMPLES = Examples.load(Path(__file__).parent / "api" / "examples.json")


def create_app(settings: Settings | None = None, clock=None) -> Flask:
    settings = settings or config.load()
    # A bad built-in definition stops start-up here, naming the file, not a request later.
    load_builtin_instruments()
    return create_service_app(
        settings=settings,
        database=Database(settings.mongo_url, settings.database, config.INDEXES),
        title="Stepwise questionnaires",
        description="Validated instruments, assignments, scoring, reliable change and risk flags.",
        blueprints=blueprints(),
        audited=AUDITED,
        clock=clock,
        examples=EXAMPLES,
    )
