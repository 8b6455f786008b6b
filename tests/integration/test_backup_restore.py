"""scripts/backup and scripts/restore, as an operator runs them: a goals database with data in it
is dumped, restored into a fresh database, and a goals API on the restored database answers with
the same goals, progress and revisions. A restore never writes into a database that has data."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pymongo
import pytest
import requests

from services.goals import config
from services.goals.app import create_app
from tests.support.goals import phq9_goal, walking_goal

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def run(script: str, *args: str, mongo_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / script), "--mongo-url", mongo_url, *args],
        capture_output=True, text=True, timeout=120,
    )


def serve_goals(harness, database: str) -> str:
    return harness.serve(create_app(settings=harness.settings("goals", config.OPTIONS, MONGO_DATABASE=database)))


def index_names(client: pymongo.MongoClient, database: str) -> dict[str, set[str]]:
    db = client[database]
    return {name: {index["name"] for index in db[name].list_indexes()} for name in db.list_collection_names()}


def test_a_dumped_goals_database_restores_into_a_fresh_one_and_reads_back_through_the_api(harness, auth, tmp_path):
    source = harness.database_name("goals")
    api = serve_goals(harness, source)
    therapist = auth("therapist", "therapist-1")
    first = requests.post(f"{api}/v1/goals", json=phq9_goal(), headers=therapist, timeout=10).json()
    second = requests.post(f"{api}/v1/goals", json=walking_goal(client_id="client-2"), headers=therapist, timeout=10).json()
    progress = requests.post(f"{api}/v1/goals/{second['id']}/progress",
                             json={"value": 4, "recorded_at": "2026-01-20T10:00:00Z"}, headers=therapist, timeout=10)
    assert progress.status_code == 201
    revised = requests.patch(f"{api}/v1/goals/{first['id']}", json={"title": "PHQ-9 below 10", "reason": "shorter"},
                             headers=therapist, timeout=10)
    assert revised.status_code == 200
    before = {goal_id: requests.get(f"{api}/v1/goals/{goal_id}", headers=therapist, timeout=10).json()
              for goal_id in (first["id"], second["id"])}

    dumped = run("backup", "--database", source, "--out", str(tmp_path / "dump"), mongo_url=harness.mongo_url)
    assert dumped.returncode == 0, dumped.stderr
    assert any(path.stat().st_size > 0 for path in (tmp_path / "dump" / source).glob("*.bson"))

    target = harness.database_name("goals_restored")
    restored = run("restore", "--from", str(tmp_path / "dump" / source), "--database", target, mongo_url=harness.mongo_url)
    assert restored.returncode == 0, restored.stderr

    client = pymongo.MongoClient(harness.mongo_url)
    try:
        # Indexes come back from the dump itself, before any service has started on it.
        assert index_names(client, target) == index_names(client, source)
        for name in client[source].list_collection_names():
            assert client[target][name].count_documents({}) == client[source][name].count_documents({}), name
    finally:
        client.close()

    restored_api = serve_goals(harness, target)
    for goal_id, goal in before.items():
        answer = requests.get(f"{restored_api}/v1/goals/{goal_id}", headers=therapist, timeout=10)
        assert answer.status_code == 200
        assert answer.json() == goal
    assert requests.get(f"{restored_api}/v1/goals/{first['id']}", headers=auth("therapist", "t-9", "clinic-b"),
                        timeout=10).status_code == 404, "the tenant came back with the record"


def test_restore_refuses_a_database_that_has_data(harness, auth, tmp_path):
    source = harness.database_name("goals")
    api = serve_goals(harness, source)
    goal = requests.post(f"{api}/v1/goals", json=walking_goal(), headers=auth(), timeout=10).json()
    assert run("backup", "--database", source, "--out", str(tmp_path), mongo_url=harness.mongo_url).returncode == 0
    requests.post(f"{api}/v1/goals/{goal['id']}/progress", json={"value": 2, "recorded_at": "2026-01-12T10:00:00Z"},
                  headers=auth(), timeout=10)
    after = requests.get(f"{api}/v1/goals/{goal['id']}", headers=auth(), timeout=10).json()

    refused = run("restore", "--from", str(tmp_path / source), "--database", source, mongo_url=harness.mongo_url)
    assert refused.returncode == 1
    assert f"database {source} is not empty" in refused.stderr
    assert requests.get(f"{api}/v1/goals/{goal['id']}", headers=auth(), timeout=10).json() == after

    missing = run("restore", "--from", str(tmp_path / "nothing"), "--database", harness.database_name("x"),
                  mongo_url=harness.mongo_url)
    assert missing.returncode == 1 and "holds no dump" in missing.stderr
