"""The notifications service in process: its API through Flask's test client and its rules
handler (what the worker's ``notifications.risk`` and ``notifications.rules`` consumers call), on
the tier's notifications database, with no worker, broker or SMTP server.

The app is built once for the tier on the tier's clock, which each test sets to ``START``.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.notifications import config
from services.notifications.app import create_app
from services.notifications.handlers import RulesConsumer
from shared.mongo import Database
from tests.support.caller import Caller
from tests.support.notifications import START, notification_settings

# Where the settings say the SMTP server is: nothing listens there, and nothing here sends email.
NO_SMTP = "smtp://127.0.0.1:9"


@pytest.fixture
def start():
    return START


@pytest.fixture
def service_name() -> str:
    return config.SERVICE


@pytest.fixture(scope="session")
def settings(databases):
    return notification_settings(databases, NO_SMTP)


@pytest.fixture(scope="session")
def app(settings, tier_clock):
    return create_app(settings, clock=tier_clock)


@pytest.fixture(scope="session")
def tier_database(settings):
    opened = Database(settings.mongo_url, settings.database, config.INDEXES)
    yield opened
    opened.close()


@pytest.fixture
def database(tier_database, harness) -> Database:
    return tier_database


@pytest.fixture
def api(app, clock, auth) -> Caller:
    """The API with no token unless a call's ``headers`` carry one (``auth(...)``)."""
    return Caller.in_process(app, auth, who=None)


@pytest.fixture
def rules(database, clock, settings) -> RulesConsumer:
    """The worker's rules handler, as it builds it: an event in, alerts and notifications stored."""
    return RulesConsumer(database, clock, timedelta(minutes=settings["ALERT_ESCALATE_AFTER_MINUTES"]))
