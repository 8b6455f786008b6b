"""The questionnaires service over real HTTP against the real database and broker.

The API and any worker share one FixedClock, so schedules and reminders are tested without
sleeping. ``Service`` wraps ``requests`` with the callers' tokens, and ``snapshot`` counts every
collection so a test can show that a refused request changed nothing. ``caught_up`` says when
the reminder job has done everything due by the clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

import pymongo
import pytest
import requests

from services.questionnaires import config
from services.questionnaires.adapters.assignments import ReminderLedger
from services.questionnaires.app import create_app
from services.questionnaires.worker import build_worker
from shared.clock import FixedClock
from shared.journal import JOURNAL
from shared.mongo import Database
from shared.timetable import CURSORS
from shared.worker import Worker
from tests.support.harness import Harness

# A Monday morning.
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


@dataclass
class Service:
    harness: Harness
    url: str
    clock: FixedClock
    auth: Any
    database: pymongo.database.Database
    reminders: ReminderLedger  # what the reminder job reads and writes, on the service's database

    def call(self, method: str, path: str, *, role: str = "therapist", sub: str = "therapist-1",
             tenant: str = "clinic-a", headers: dict | None = None, **kwargs) -> requests.Response:
        sent = {**self.auth(role, sub, tenant), **(headers or {})}
        return requests.request(method, self.url + path, headers=sent, timeout=30, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs) -> requests.Response:
        return self.call("POST", path, json=body, **kwargs)

    def submit(self, client_id: str, instrument: str, answers, **extra) -> dict:
        """Submit as a therapist and insist on 201; returns the scored response."""
        options = {key: extra.pop(key) for key in ("role", "sub", "tenant", "headers") if key in extra}
        answer = self.post("/v1/responses", {"client_id": client_id, "instrument": instrument, "answers": answers, **extra},
                           **options)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def worker(self) -> Worker:
        """A questionnaires worker on the same clock, started; the harness stops it."""
        settings = self.harness.settings(config.SERVICE, config.OPTIONS, REMINDER_CHECK_SECONDS="0.05")
        return self.harness.start(build_worker(settings, clock=self.clock))

    def snapshot(self) -> dict[str, int]:
        """How many documents each collection holds."""
        return {name: self.database[name].count_documents({}) for name in sorted(self.database.list_collection_names())}


def caught_up(service: Service) -> bool:
    """The reminder job has walked the timetable up to the clock, handling and removing every
    entry due by then, and the relay has published every event stored."""
    timetable = service.reminders.timetable
    cursor = service.database[CURSORS].find_one({"_id": config.REMINDER_TIMETABLE})
    walked = cursor is not None and cursor["slot"] >= timetable.slot(service.clock.now() - timetable.overlap)
    return walked and service.database[JOURNAL].count_documents({}) == 0


@pytest.fixture
def service(harness, auth) -> Iterator[Service]:
    clock = FixedClock(START)
    settings = harness.settings(config.SERVICE, config.OPTIONS)
    url = harness.serve(create_app(settings=settings, clock=clock))
    client: pymongo.MongoClient[dict] = pymongo.MongoClient(harness.mongo_url, tz_aware=True)
    database = Database(harness.mongo_url, settings.database, config.INDEXES)
    try:
        yield Service(harness, url, clock, auth, client[settings.database], ReminderLedger(database))
    finally:
        database.close()
        client.close()


def phq9(total: int, item9: int = 0) -> list[int]:
    """PHQ-9 answers in item order adding up to ``total``, with item 9 as given."""
    answers = [0] * 8 + [item9]
    remaining = total - item9
    assert 0 <= remaining <= 24, "PHQ-9 items 1-8 give 0 to 24"
    for index in range(8):
        answers[index] = min(3, remaining)
        remaining -= answers[index]
    return answers


def gad7(total: int) -> list[int]:
    answers = [0] * 7
    remaining = total
    assert 0 <= remaining <= 21
    for index in range(7):
        answers[index] = min(3, remaining)
        remaining -= answers[index]
    return answers
