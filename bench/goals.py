"""Goals at scale: read a goal, list a client's goals, log progress, on an empty database and on a
full one, in the same run.

    python bench/goals.py [--goals 2000] [--entries 20000] [--rounds 30]

Two databases on the same server (MONGO_URL, default the local server of scripts/servers): one
holds only the measured client's goals (ten, with ten progress entries each); the other holds
them too, plus ``--goals`` goals with ``--entries`` entries of other clients (ten goals each) in
five clinics, the measured one among them. The extra goals are stored as the service stores
them: their records inserted into their histories, then each goal's current-goal document written
by ``GoalStore.refresh``.

The goals app runs in-process (Flask's test client: no HTTP server, so the figures are the
service and its database). For each operation it prints p50 and p95 on both databases, the ratio
of the p95s (target: within 2x, docs/STORAGE.md) and the database commands one request sends.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pymongo  # noqa: E402
from pymongo import monitoring  # noqa: E402

from services.goals import config  # noqa: E402
from services.goals.adapters.store import CREATED, ENTRY, GoalHistory, GoalStore  # noqa: E402
from services.goals.app import create_app  # noqa: E402
from shared.auth.devtoken import mint  # noqa: E402
from shared.clock import FixedClock  # noqa: E402
from shared.config import DEFAULT_AMQP_URL, DEFAULT_MONGO_URL, load_settings  # noqa: E402
from shared.mongo import Database, Scope  # noqa: E402

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
SECRET = "bench-secret-for-stepwise-benchmarks-only"
TENANT, CLIENT = "clinic-a", "bench-client"
GOALS_PER_CLIENT, ENTRIES_PER_GOAL = 10, 10


class CommandCounter(monitoring.CommandListener):
    """Counts the commands pymongo sends while ``counting`` is set."""

    def __init__(self) -> None:
        self.counting = False
        self.sent = 0

    def started(self, event) -> None:
        if self.counting:
            self.sent += 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def goal_records(tenant: str, client: str, entries: int, n: int) -> list[dict]:
    """A PHQ-9 goal's creation record and ``entries`` progress entries, as the service stores them."""
    goal_id = str(uuid.uuid4())
    created_at = NOW - timedelta(days=60, minutes=n)
    records: list[dict] = [{
        "_id": goal_id, "goal_id": goal_id, "record": CREATED, "tenant": tenant, "client_id": client,
        "therapist_id": "therapist-1", "title": "Bring my PHQ-9 score below 10 by walking daily", "description": None,
        "category": "emotional_wellbeing", "start_date": "2025-11-06", "target_date": "2026-03-30",
        "measure": {"kind": "instrument", "instrument": "phq9", "unit": None, "baseline": 16, "target": 9,
                    "direction": "decrease", "per": None},
        "parent_goal_id": None, "milestones": [], "smart": {}, "created_at": created_at, "created_by": "therapist-1",
        "idempotency": None,
    }]
    for i in range(entries):
        at = created_at + timedelta(hours=i + 1)
        records.append({"_id": str(uuid.uuid4()), "goal_id": goal_id, "record": ENTRY, "tenant": tenant, "client_id": client,
                        "value": 10 + i % 6, "recorded_at": at, "note": None, "source": "client", "by": client,
                        "created_at": at, "idempotency": None})
    return records


def seed(database: Database, records: list[dict]) -> None:
    """Store the goals' records, then each goal's current-goal document as the service writes it."""
    for start in range(0, len(records), 5000):
        database[config.HISTORY].insert_many(records[start:start + 5000], ordered=False)
    by_goal: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        by_goal[(record["tenant"], record["goal_id"])].append(record)
    for (tenant, goal_id), history in by_goal.items():
        GoalStore(database, Scope(tenant)).refresh(goal_id, known=GoalHistory.of(history))


def measure(app, counter: CommandCounter, goal_ids: list[str], rounds: int) -> dict[str, tuple[list[float], int]]:
    client = app.test_client()
    headers = {"Authorization": "Bearer " + mint(SECRET, sub="therapist-1", tenant=TENANT, role="therapist", ttl_seconds=3600)}
    operations = {
        "GET /v1/goals/{id}": lambda i: client.get(f"/v1/goals/{goal_ids[i % len(goal_ids)]}", headers=headers),
        "GET /v1/goals?client_id": lambda i: client.get(f"/v1/goals?client_id={CLIENT}", headers=headers),
        "POST /v1/goals/{id}/progress": lambda i: client.post(f"/v1/goals/{goal_ids[i % len(goal_ids)]}/progress",
                                                              json={"value": 12}, headers=headers),
    }
    operations["GET /v1/goals/{id}"](0)  # connections and indexes
    results = {}
    for name, call in operations.items():
        times, commands = [], 0
        for i in range(rounds):
            counter.sent, counter.counting = 0, True
            began = time.perf_counter()
            response = call(i)
            times.append(time.perf_counter() - began)
            counter.counting = False
            commands = max(commands, counter.sent)
            if response.status_code >= 300:
                raise SystemExit(f"{name} answered {response.status_code}: {response.get_data(as_text=True)}")
        results[name] = (sorted(times), commands)
    return results


def percentile(times: list[float], share: float) -> float:
    return times[min(len(times) - 1, int(len(times) * share))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--goals", type=int, default=2000, help="goals of other clients in the full database")
    parser.add_argument("--entries", type=int, default=20000, help="their progress entries, spread evenly")
    parser.add_argument("--rounds", type=int, default=30, help="requests per operation and database")
    args = parser.parse_args()
    mongo_url = os.environ.get("MONGO_URL", DEFAULT_MONGO_URL)
    counter = CommandCounter()
    monitoring.register(counter)

    measured = [goal_records(TENANT, CLIENT, ENTRIES_PER_GOAL, n) for n in range(GOALS_PER_CLIENT)]
    per_goal = args.entries // max(1, args.goals)
    others = [goal_records(f"clinic-{'abcde'[n % 5]}", f"client-{n // GOALS_PER_CLIENT}", per_goal, n)
              for n in range(args.goals)]
    results, names = {}, []
    for label, extra in (("empty", []), ("full", others)):
        name = f"bench_{uuid.uuid4().hex[:8]}_goals"
        names.append(name)
        database = Database(mongo_url, name, config.INDEXES)
        database.ensure_indexes()
        seed(database, [record for goal in (*measured, *extra) for record in goal])
        settings = load_settings(config.SERVICE, {
            "MONGO_URL": mongo_url, "AMQP_URL": os.environ.get("AMQP_URL", DEFAULT_AMQP_URL), "JWT_SECRET": SECRET,
            "MONGO_DATABASE": name, "LOG_LEVEL": "ERROR",
        }, config.OPTIONS)
        results[label] = measure(create_app(settings=settings, clock=FixedClock(NOW)), counter,
                                 [goal[0]["_id"] for goal in measured], args.rounds)
        database.close()
    client: pymongo.MongoClient[dict] = pymongo.MongoClient(mongo_url)
    for name in names:
        client.drop_database(name)

    print(f"{args.goals} other goals with {args.entries} entries; {args.rounds} requests per operation and database")
    print(f"{'operation':30s} {'commands':>8s}  {'empty p50 / p95 ms':>20s}  {'full p50 / p95 ms':>20s}  {'p95 full/empty':>14s}")
    for operation, (empty_times, commands) in results["empty"].items():
        full_times, _ = results["full"][operation]
        empty = (percentile(empty_times, 0.5), percentile(empty_times, 0.95))
        full = (percentile(full_times, 0.5), percentile(full_times, 0.95))
        print(f"{operation:30s} {commands:8d}  {empty[0]:9.1f} / {empty[1]:7.1f}  {full[0]:9.1f} / {full[1]:7.1f}  "
              f"{full[1] / empty[1]:14.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
