"""A clinic's own instrument, defined in questionnaires, becomes a measure goals accept, through
the real broker; a code nobody defined ("PHQ9", "zzz") is refused, since no score would feed it."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

from services.goals import config as goals_config
from services.goals.app import create_app as goals_app
from services.goals.worker import build_worker as goals_worker
from services.questionnaires import config as questionnaires_config
from services.questionnaires.app import create_app as questionnaires_app
from services.questionnaires.migrate import migrate
from services.questionnaires.worker import build_worker as questionnaires_worker
from shared.mongo import Database
from tests.support.instruments import ALLIANCE
from tests.support.harness import wait_for

pytestmark = pytest.mark.integration

FAST = {"OUTBOX_POLL_SECONDS": "0.05"}


def alliance_goal(instrument: str, **measure) -> dict:
    return {
        "client_id": "client-1", "title": "A working alliance with my therapist", "category": "relationships",
        "measure": {"kind": "instrument", "instrument": instrument, "baseline": 8, "target": 14, **measure},
        "start_date": "2026-01-05", "target_date": "2026-06-01",
    }


@pytest.fixture
def services(harness):
    goals = harness.settings("goals", goals_config.OPTIONS, **FAST)
    questionnaires = harness.settings("questionnaires", questionnaires_config.OPTIONS, **FAST)
    harness.start(goals_worker(goals))
    harness.start(questionnaires_worker(questionnaires))
    return harness.serve(goals_app(goals)), harness.serve(questionnaires_app(questionnaires)), questionnaires


def test_a_goal_on_an_unknown_instrument_is_refused_naming_the_field(services, auth):
    goals_url, _, _ = services
    for code in ("PHQ9", "zzz"):
        answer = requests.post(f"{goals_url}/v1/goals", json=alliance_goal(code), headers=auth(), timeout=10)
        assert answer.status_code == 422, answer.text
        assert "measure.instrument" in answer.json()["errors"]
    assert requests.get(f"{goals_url}/v1/goals", params={"client_id": "client-1"}, headers=auth(),
                        timeout=10).json()["items"] == []


def test_a_clinic_instrument_defined_in_questionnaires_measures_goals_in_that_clinic_only(services, auth, harness):
    goals_url, questionnaires_url, _ = services
    watched = harness.bind_queue(["instrument.defined"])
    added = requests.post(f"{questionnaires_url}/v1/instruments", json=ALLIANCE, headers=auth("admin", "admin-1"), timeout=10)
    assert added.status_code == 201, added.text

    wait_for(lambda: harness.message_count(watched) == 1, what="instrument.defined")
    [(_, body)] = harness.drain(watched)
    event = json.loads(body)
    assert event["tenantid"] == "clinic-a"
    assert event["data"] == {"code": "alliance4", "name": ALLIANCE["name"], "version": "2", "score_range": [0, 16]}

    def create(body, headers):
        return requests.post(f"{goals_url}/v1/goals", json=body, headers=headers, timeout=10)

    accepted = wait_for(lambda: (r := create(alliance_goal("alliance4"), auth())).status_code == 201 and r,
                        what="goals to know the clinic's instrument")
    assert accepted.json()["measure"]["instrument"] == "alliance4"
    beyond = create(alliance_goal("alliance4", target=20), auth())
    assert beyond.status_code == 422 and "measure.target" in beyond.json()["errors"], "its range is 0-16"
    elsewhere = create(alliance_goal("alliance4"), auth("therapist", "therapist-9", "clinic-b"))
    assert elsewhere.status_code == 422 and "measure.instrument" in elsewhere.json()["errors"]


def test_the_migration_announces_instruments_defined_before_they_carried_the_event(services, auth, harness):
    goals_url, _questionnaires_url, questionnaires = services
    database = Database(questionnaires.mongo_url, questionnaires.database, questionnaires_config.INDEXES)
    # A definition as stored before this version: no event rides on it.
    database[questionnaires_config.INSTRUMENTS].insert_one({
        "_id": "clinic-a:oldscale", "tenant": "clinic-a", "code": "oldscale",
        "definition": {**ALLIANCE, "code": "oldscale", "scoring": {**ALLIANCE["scoring"], "range": [0, 30]}},
        "created_at": None, "created_by": "admin-1",
    })
    refused = requests.post(f"{goals_url}/v1/goals", json=alliance_goal("oldscale"), headers=auth(), timeout=10)
    assert refused.status_code == 422

    now = datetime.now(timezone.utc)
    assert migrate(database, now, timedelta(hours=48))["instruments_announced"] == 1
    assert migrate(database, now, timedelta(hours=48))["instruments_announced"] == 0, "announced once"

    wait_for(lambda: requests.post(f"{goals_url}/v1/goals", json=alliance_goal("oldscale", target=25), headers=auth(),
                                   timeout=10).status_code == 201, what="goals to learn the announced instrument")
    database.close()
