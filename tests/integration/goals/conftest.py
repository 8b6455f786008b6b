"""The goals API served over real HTTP on the test's database, with a clock the test controls."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pymongo
import pytest
import requests

from services.goals import config
from services.goals.adapters.store import CLAIM, CREATED, ENTRY, RATING, REVISION
from services.goals.app import create_app
from services.goals.worker import build_worker
from shared.clock import FixedClock

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
THERAPIST = ("therapist", "therapist-1", "clinic-a")
HISTORY_RECORDS = (CREATED, REVISION, ENTRY, CLAIM, RATING)
CLIENT = ("client", "client-1", "clinic-a")


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


class Api:
    """Real HTTP calls to one goals API, as one caller or another."""

    def __init__(self, base: str, auth):
        self.base = base
        self.auth = auth

    def call(self, method: str, path: str, body=None, *, who=THERAPIST, headers=None, **kwargs) -> requests.Response:
        sent = dict(self.auth(*who) if who else {})
        sent.update(headers or {})
        if body is not None:
            kwargs["data"] = body if isinstance(body, (bytes, str)) else json.dumps(body)
            sent.setdefault("Content-Type", "application/json")
        return requests.request(method, self.base + path, headers=sent, timeout=15, **kwargs)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.call("POST", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.call("PATCH", path, body, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.call("PUT", path, body, **kwargs)

    def create(self, body=None, *, who=THERAPIST, **fields) -> dict:
        """Create a goal (a PHQ-9 goal unless told otherwise) and return it."""
        response = self.post("/v1/goals", {**phq9_goal(), **fields} if body is None else body, who=who)
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def api(harness, settings, clock, auth) -> Api:
    return Api(harness.serve(create_app(settings=settings, clock=clock)), auth)


@pytest.fixture
def start_worker(harness, settings, clock):
    """Start a goals worker (consumer, relay, due-soon job) on the test's clock."""

    def start(**overrides):
        worker_settings = harness.settings(config.SERVICE, config.OPTIONS, **overrides) if overrides else settings
        return harness.start(build_worker(worker_settings, clock=clock))

    return start


def phq9_goal(**fields) -> dict:
    """The contract's example: "PHQ-9 below 10", from 16 to 9 in twelve weeks."""
    return {
        "client_id": "client-1",
        "title": "Bring my PHQ-9 score below 10 by walking daily",
        "description": "Walk 20 minutes after lunch every day",
        "category": "emotional_wellbeing",
        "measure": {"kind": "instrument", "instrument": "phq9", "baseline": 16, "target": 9, "direction": "decrease"},
        "start_date": "2026-01-05",
        "target_date": "2026-03-30",
        **fields,
    }


def walking_goal(**fields) -> dict:
    """A count goal: from 0 to 10 walks a week over ten weeks."""
    return {
        "client_id": "client-1",
        "title": "Walk for 20 minutes after lunch",
        "category": "behavioral",
        "measure": {"kind": "count", "unit": "walks", "baseline": 0, "target": 10, "per": "week"},
        "start_date": "2026-01-05",
        "target_date": "2026-03-16",
        **fields,
    }


def events_in(harness, queue: str) -> list[dict]:
    return [json.loads(body) for _, body in harness.drain(queue)]


def stored_events(db, name: str | None = None) -> list[dict]:
    """Events stored with goal records, by event time and then record id (a revision's id ends
    in its zero-padded seq), whatever the relay has done with them."""
    found: list[tuple] = []  # (event time, record id, event)
    for collection in config.OUTBOX_COLLECTIONS:
        for document in db[collection].find({"outbox.events": {"$exists": True}}):
            found.extend((event["time"], str(document["_id"]), event) for event in document["outbox"]["events"])
    ordered = [event for _, _, event in sorted(found, key=lambda item: item[:2])]
    return [event for event in ordered if name is None or event["type"] == f"stepwise.{name}.v1"]


def counts(db) -> dict[str, int]:
    """How many records of each kind the goals' histories hold, and how many current-goal
    documents there are: bad input must leave these alone."""
    found = {kind: db[config.HISTORY].count_documents({"record": kind}) for kind in HISTORY_RECORDS}
    found[config.CURRENT] = db[config.CURRENT].count_documents({})
    return found
