"""Latency of a clinic's outcomes (``GET /v1/outcomes``'s action) against the running server.

    python bench/outcomes.py [--clients 2000] [--therapists 40] [--tenants 3] [--samples 30]

Seeds a fresh database (MONGO_URL, default the local server of scripts/servers) with synthetic
series summaries and therapist links, shaped as the questionnaires service writes them (each
client has a PHQ-9 and a GAD-7 series and one therapist), with the service's indexes, in
``--tenants`` clinics of ``--clients`` clients each. Then times the service's own action
(``Questionnaires.outcomes``, no HTTP), ``--samples`` times each, and prints p50 and p95:

- admin:          a clinic's outcomes on PHQ-9 (every client's summary on it)
- admin cohort:   the same, of one baseline month
- therapist:      a therapist's own clients (their links, then each client's summary by id)

The database is dropped afterwards.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import percentile  # noqa: E402
from services.questionnaires import config  # noqa: E402
from services.questionnaires.actions import Questionnaires  # noqa: E402
from services.questionnaires.adapters.outcomes import cohort_of, derived_id  # noqa: E402
from shared.auth import Principal  # noqa: E402
from shared.config import DEFAULT_MONGO_URL  # noqa: E402
from shared.mongo import Database  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
TOTALS = {"phq9": 27, "gad7": 21}


def seed(database: Database, tenants: int, clients: int, therapists: int) -> None:
    summaries, links = [], []
    for t in range(tenants):
        tenant = f"clinic-{t}"
        for c in range(clients):
            client_id, therapist_id = f"client-{c}", f"therapist-{c % therapists}"
            links.append({"_id": derived_id(tenant, client_id, therapist_id), "tenant": tenant, "client_id": client_id,
                          "therapist_id": therapist_id, "since": NOW})
            for instrument, top in TOTALS.items():
                baseline_at = NOW - timedelta(days=random.randint(30, 360))
                latest_at = baseline_at + timedelta(days=random.randint(0, 29))
                summaries.append({
                    "_id": derived_id(tenant, client_id, instrument), "tenant": tenant, "client_id": client_id,
                    "instrument": instrument, "responses": random.randint(1, 12), "cohort": cohort_of(baseline_at),
                    "baseline_id": str(uuid.uuid4()), "baseline_total": random.randint(0, top), "baseline_at": baseline_at,
                    "latest_id": str(uuid.uuid4()), "latest_total": random.randint(0, top), "latest_at": latest_at,
                })
    database[config.SERIES_SUMMARIES].insert_many(summaries, ordered=False)
    database[config.CLIENT_THERAPISTS].insert_many(links, ordered=False)


def timed(run, samples: int) -> tuple[float, float]:
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        run()
        durations.append((time.perf_counter() - started) * 1000)
    return percentile(durations, 0.5), percentile(durations, 0.95)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--therapists", type=int, default=40)
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--samples", type=int, default=30)
    options = parser.parse_args()
    name = f"bench_outcomes_{uuid.uuid4().hex[:8]}"
    database = Database(os.environ.get("MONGO_URL", DEFAULT_MONGO_URL), name, config.INDEXES)
    try:
        database.ensure_indexes()
        seed(database, options.tenants, options.clients, options.therapists)
        cohort = cohort_of(NOW - timedelta(days=90))

        def outcomes(role: str, sub: str, **filters) -> dict:
            caller = Questionnaires(database, Principal(sub, "clinic-0", role), NOW, timedelta(hours=48))
            return caller.outcomes({"instrument": "phq9", **filters})[0]

        print(f"{options.tenants} clinics x {options.clients} clients x {len(TOTALS)} instruments; "
              f"{options.therapists} therapists a clinic")
        for label, role, sub, filters in (
            ("admin", "admin", "admin-1", {}),
            ("admin cohort", "admin", "admin-1", {"cohort": cohort}),
            ("therapist", "therapist", "therapist-1", {}),
            ("admin period", "admin", "admin-1", {"from": date(2026, 3, 1), "to": date(2026, 5, 31)}),
        ):
            counted = outcomes(role, sub, **filters)["denominators"]["clients"]
            p50, p95 = timed(lambda: outcomes(role, sub, **filters), options.samples)
            print(f"{label:14} {counted:6} series  p50 {p50:8.1f} ms  p95 {p95:8.1f} ms")
    finally:
        database.client.drop_database(name)
        database.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
