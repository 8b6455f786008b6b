"""The questionnaires service in process: its API through Flask's test client on the tier's
questionnaires database, with no worker or broker (``tests.support.questionnaires``).

The app is built once for the tier on the tier's clock, which each test sets to ``START``.
"""
from __future__ import annotations

from typing import Iterator

import pymongo
import pytest

from services.questionnaires import config
from services.questionnaires.adapters import instruments
from services.questionnaires.adapters.assignments import ReminderLedger
from services.questionnaires.app import create_app
from shared.mongo import Database
from tests.support.caller import Caller
from tests.support.questionnaires import START, Service


@pytest.fixture
def start():
    return START


@pytest.fixture
def service_name() -> str:
    return config.SERVICE


@pytest.fixture(scope="session")
def settings(databases):
    return databases.settings(config.SERVICE, config.OPTIONS)


@pytest.fixture(scope="session")
def app(settings, tier_clock):
    return create_app(settings=settings, clock=tier_clock)


@pytest.fixture(scope="session")
def tier_database(settings) -> Iterator[Database]:
    opened = Database(settings.mongo_url, settings.database, config.INDEXES)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def client(settings) -> Iterator[pymongo.MongoClient]:
    opened: pymongo.MongoClient[dict] = pymongo.MongoClient(settings.mongo_url, tz_aware=True)
    yield opened
    opened.close()


@pytest.fixture
def service(harness, app, clock, auth, client, settings, tier_database) -> Iterator[Service]:
    yield Service(harness, Caller.in_process(app, auth), clock, client[settings.database], ReminderLedger(tier_database))
    # Clinic instruments are parsed once per process, by record id (they never change): the
    # records are about to be deleted, and the next test may define the same code anew.
    instruments._parsed.clear()
