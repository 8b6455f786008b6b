"""The goals API served over real HTTP on the test's database, with a clock the test controls."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pymongo
import pytest

from services.goals import config
from services.goals.app import create_app
from services.goals.worker import build_worker
from shared.clock import FixedClock
from tests.support.goals import GoalsApi

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def settings(harness):
    return harness.settings(config.SERVICE, config.OPTIONS)


@pytest.fixture
def db(harness, settings):
    client = pymongo.MongoClient(settings.mongo_url, tz_aware=True)
    yield client[settings.database]
    client.close()


@pytest.fixture
def api(harness, settings, clock, auth) -> GoalsApi:
    return GoalsApi.over_http(harness.serve(create_app(settings=settings, clock=clock)), auth, timeout=15)


@pytest.fixture
def start_worker(harness, settings, clock):
    """Start a goals worker (consumer, relay, due-soon job) on the test's clock."""

    def start(**overrides):
        worker_settings = harness.settings(config.SERVICE, config.OPTIONS, **overrides) if overrides else settings
        return harness.start(build_worker(worker_settings, clock=clock))

    return start


def events_in(harness, queue: str) -> list[dict]:
    return [json.loads(body) for _, body in harness.drain(queue)]
