"""PHQ-9 submissions per second over HTTP: the questionnaires API against a bare Flask insert.

    python bench/responses.py [--requests 2000] [--workers 2] [--threads 4] [--clients 200]

Both apps run under gunicorn with the same number of workers, in the same run, against the
same MongoDB (MONGO_URL, default the local server of scripts/servers):

- Stepwise: ``POST /v1/responses`` on the questionnaires app as deployed (its gunicorn config,
  JWT auth, validation, scoring, change from the client's baseline and previous response, the
  response stored with its ``questionnaire.scored`` event in the outbox);
- bare: a Flask endpoint that parses the same request body and inserts the same document (a
  copy of one the Stepwise app stored, under a new ``_id``) with pymongo, and nothing else.

A few client threads (one ``requests.Session`` each) send a bounded number of requests,
spread over ``--clients`` clients so that each client builds a history. Rounds alternate between
the two apps; the best round of each is compared. Target: Stepwise at least 0.7 of bare.
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pymongo  # noqa: E402
import requests  # noqa: E402
from bson import json_util  # noqa: E402

from bench.support import free_port, gunicorn, start_api, stop, wait_until_up  # noqa: E402
from shared.auth.devtoken import mint  # noqa: E402
from shared.config import DEFAULT_AMQP_URL, DEFAULT_MONGO_URL  # noqa: E402
from shared.journal import JOURNAL  # noqa: E402

PHQ9_ITEMS = 9


def bare_app():
    """The baseline: parse the body, insert the template document under a new id, answer 201."""
    from flask import Flask, jsonify, request

    app = Flask("bare")
    template = json_util.loads(Path(os.environ["BARE_TEMPLATE"]).read_text())
    state: dict = {}

    def collection():
        # Opened in each gunicorn worker after the fork, like the Stepwise app's client.
        if "collection" not in state:
            client: pymongo.MongoClient[dict] = pymongo.MongoClient(os.environ["MONGO_URL"], tz_aware=True)
            state["collection"] = client[os.environ["MONGO_DATABASE"]]["responses"]
        return state["collection"]

    @app.post("/v1/responses")
    def insert():
        request.get_json()
        document = {**template, "_id": str(uuid.uuid4())}
        collection().insert_one(document)
        return jsonify({"id": document["_id"]}), 201

    return app


def submission(rng: random.Random, client: int) -> dict:
    return {
        "client_id": f"bench-client-{client}",
        "instrument": "phq9",
        "answers": [rng.randint(0, 3) for _ in range(PHQ9_ITEMS)],
    }


def drive(url: str, headers: dict, count: int, threads: int, clients: int, seed: int) -> float:
    """Send ``count`` submissions from ``threads`` threads; returns submissions per second."""
    per_thread = count // threads
    failures: list[str] = []

    def work(worker: int) -> None:
        rng = random.Random(seed * 1000 + worker)
        session = requests.Session()
        for n in range(per_thread):
            answer = session.post(url, json=submission(rng, (worker * per_thread + n) % clients), headers=headers)
            if answer.status_code != 201:
                failures.append(f"{answer.status_code} {answer.text[:200]}")
                return

    pool = [threading.Thread(target=work, args=(worker,)) for worker in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"a submission failed: {failures[0]}")
    return per_thread * threads / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="submissions per round and app")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each app")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--clients", type=int, default=200, help="distinct clients submitting")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per app, alternating")
    args = parser.parse_args()

    mongo_url = os.environ.get("MONGO_URL", DEFAULT_MONGO_URL)
    amqp_url = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
    run_id = uuid.uuid4().hex[:8]
    secret = secrets.token_hex(32)
    ours_db, bare_db = f"bench_{run_id}_questionnaires", f"bench_{run_id}_bare"
    scratch = Path(tempfile.mkdtemp(prefix="stepwise-bench-"))
    bare_port = free_port()
    base_env = {**os.environ, "MONGO_URL": mongo_url, "AMQP_URL": amqp_url, "JWT_SECRET": secret,
                "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    bare_env = {**base_env, "MONGO_DATABASE": bare_db, "BARE_TEMPLATE": str(scratch / "template.json")}
    headers = {"Authorization": f"Bearer {mint(secret, sub='bench-therapist', tenant='bench', role='therapist')}"}
    bare_url = f"http://127.0.0.1:{bare_port}/v1/responses"
    mongo: pymongo.MongoClient[dict] = pymongo.MongoClient(mongo_url, tz_aware=True)
    processes: list[subprocess.Popen] = []
    try:
        ours, ours_base = start_api("questionnaires", base_env, ours_db, args.workers, scratch)
        processes.append(ours)
        ours_url = f"{ours_base}/v1/responses"
        first = requests.post(ours_url, json=submission(random.Random(0), 0), headers=headers)
        if first.status_code != 201:
            raise SystemExit(f"the questionnaires app answered {first.status_code}: {first.text[:300]}")
        template = mongo[ours_db]["responses"].find_one({"_id": first.json()["id"]})
        assert template is not None, "the first response was stored"
        template.pop("_id")
        (scratch / "template.json").write_text(json_util.dumps(template))
        bare = gunicorn(["-w", str(args.workers), "-b", f"127.0.0.1:{bare_port}", "--chdir", str(ROOT / "bench"),
                      "responses:bare_app()"], bare_env, scratch / "bare.log")
        processes.append(bare)
        wait_until_up(f"http://127.0.0.1:{bare_port}/", bare)

        warm_up = max(args.threads, 100)
        drive(ours_url, headers, warm_up, args.threads, args.clients, seed=1)
        drive(bare_url, headers, warm_up, args.threads, args.clients, seed=1)
        rates: dict[str, list[float]] = {"stepwise": [], "bare": []}
        for round_number in range(args.rounds):
            seed = 100 + round_number
            rates["bare"].append(drive(bare_url, headers, args.requests, args.threads, args.clients, seed))
            rates["stepwise"].append(drive(ours_url, headers, args.requests, args.threads, args.clients, seed))

        stored = mongo[ours_db]["responses"].count_documents({})
        journalled = mongo[ours_db][JOURNAL].count_documents({})
        expected = 1 + warm_up // args.threads * args.threads + args.rounds * (args.requests // args.threads * args.threads)
        best_ours, best_bare = max(rates["stepwise"]), max(rates["bare"])
        ratio = best_ours / best_bare
        print(f"setup: {args.workers} gunicorn workers each, {args.threads} client threads, "
              f"{args.requests} submissions per round, {args.rounds} rounds, {args.clients} clients")
        print(f"bare Flask insert of the same document: {best_bare:7.0f} submissions/s  "
              f"(rounds: {', '.join(f'{r:.0f}' for r in rates['bare'])})")
        print(f"stepwise POST /v1/responses (scored, change, event in the outbox): {best_ours:7.0f} submissions/s  "
              f"(rounds: {', '.join(f'{r:.0f}' for r in rates['stepwise'])})")
        print(f"stored responses: {stored} of {expected}; events waiting in the outbox journal: {journalled}")
        print(f"ratio: {ratio:.2f} (target >= 0.70) {'OK' if ratio >= 0.7 else 'BELOW TARGET'}")
        return 0
    finally:
        stop(processes)
        for name in (ours_db, bare_db):
            mongo.drop_database(name)
        mongo.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
