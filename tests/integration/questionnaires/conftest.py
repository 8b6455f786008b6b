"""The questionnaires service over real HTTP against the real database and broker
(``tests.support.questionnaires``)."""
from __future__ import annotations

from typing import Iterator

import pymongo
import pytest

from services.questionnaires import config
from services.questionnaires.adapters.assignments import ReminderLedger
from services.questionnaires.app import create_app
from shared.clock import FixedClock
from shared.mongo import Database
from tests.support.caller import Caller
from tests.support.questionnaires import START, Service


@pytest.fixture
def service(harness, auth) -> Iterator[Service]:
    clock = FixedClock(START)
    settings = harness.settings(config.SERVICE, config.OPTIONS)
    url = harness.serve(create_app(settings=settings, clock=clock))
    client: pymongo.MongoClient[dict] = pymongo.MongoClient(harness.mongo_url, tz_aware=True)
    database = Database(harness.mongo_url, settings.database, config.INDEXES)
    try:
        yield Service(harness, Caller.over_http(url, auth), clock, client[settings.database], ReminderLedger(database))
    finally:
        database.close()
        client.close()
