"""The goals service in process: its API through Flask's test client, its actions and its
handlers, on the tier's goals database, with a clock the test controls.

The app is built once for the tier (building it ensures every index) on the tier's clock, which
each test sets to ``START``; the database is emptied after every test (``tests/service/conftest.py``).
"""
from __future__ import annotations

from datetime import datetime, timezone

import pymongo
import pytest

from services.goals import config
from services.goals.app import create_app
from shared.mongo import Database
from tests.support.goals import GoalsApi

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def settings(databases):
    return databases.settings(config.SERVICE, config.OPTIONS)


@pytest.fixture
def start():
    return START


@pytest.fixture
def service_name() -> str:
    return config.SERVICE


@pytest.fixture(scope="session")
def app(settings, tier_clock):
    return create_app(settings=settings, clock=tier_clock)


@pytest.fixture(scope="session")
def client(settings):
    opened = pymongo.MongoClient(settings.mongo_url, tz_aware=True)
    yield opened
    opened.close()


@pytest.fixture
def db(client, settings, harness):
    return client[settings.database]


@pytest.fixture(scope="session")
def tier_database(settings):
    opened = Database(settings.mongo_url, settings.database, config.INDEXES)
    yield opened
    opened.close()


@pytest.fixture
def database(tier_database, harness) -> Database:
    """The service's own ``Database``, as its worker opens it."""
    return tier_database


@pytest.fixture
def api(app, clock, auth) -> GoalsApi:
    return GoalsApi.in_process(app, auth)
