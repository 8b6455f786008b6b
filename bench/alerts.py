"""Risk-alert latency through the real stack: a PHQ-9 submitted -> the urgent alert in the
therapist's inbox.

    scripts/stack &                    # the stack as a clinic runs it: gunicorn APIs and workers
    python bench/alerts.py [--rate 50] [--seconds 60] [--backlog 10000]

Drives a steady ``--rate`` PHQ-9 submissions per second for ``--seconds`` through the
questionnaires API (one in ten answers item 9 above 0: a risk answer), for clients whose care
team is a therapist, then reads the therapist's inbox through the notifications API and prints
p50/p95/p99 of submission -> alert: the notification's ``created_at`` minus the moment the request
was sent (one machine, one clock).

Two phases, one run: (1) the steady load alone; (2) the same load right after a backlog of
``--backlog`` routine events (questionnaire.scored and goal.progress_recorded of the same tenant,
published straight to the exchange) was put in front of the notifications worker, measured while
that backlog is drained; also how long the notifications worker took to empty its routine queue
(``<QUEUE_PREFIX>.notifications.rules``): its sustained events/s. Targets (the event-backbone
issue): p99 < 1 s steady, p99 < 2 s with the backlog. Settings: the stack's (``GOALS_URL``...,
``JWT_SECRET``, ``AMQP_URL``, ``EVENTS_EXCHANGE``, ``QUEUE_PREFIX``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pika
import requests

from shared.auth.devtoken import mint
from shared.config import DEFAULT_AMQP_URL, DEFAULT_EXCHANGE
from shared.events import amqp
from shared.events.envelope import new_event
from shared.events.publisher import message_properties

DEV_JWT_SECRET = "change-me-dev-only-not-a-real-secret"
SAFE = [1, 1, 0, 1, 0, 1, 0, 1, 0]
RISKY = [2, 2, 1, 2, 1, 2, 1, 2, 1]


class Stack:
    def __init__(self, tenant: str, secret: str):
        self.tenant = tenant
        self.secret = secret
        self.questionnaires = os.environ.get("QUESTIONNAIRES_URL", "http://127.0.0.1:8002")
        self.notifications = os.environ.get("NOTIFICATIONS_URL", "http://127.0.0.1:8003")
        self.local = threading.local()

    def headers(self, role: str, sub: str) -> dict:
        return {"Authorization": f"Bearer {mint(self.secret, sub=sub, tenant=self.tenant, role=role, ttl_seconds=3600)}"}

    @property
    def http(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.trust_env = False
        return self.local.session


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def care_teams(stack: Stack, therapist: str, clients: list[str]) -> None:
    admin = stack.headers("admin", "bench-admin")
    stack.http.put(f"{stack.notifications}/v1/tenant/admins", json={"admin_ids": ["bench-admin"]}, headers=admin).raise_for_status()
    stack.http.put(f"{stack.notifications}/v1/tenant/clinicians", json={"clinician_ids": [therapist]},
                   headers=admin).raise_for_status()
    for client in clients:
        response = stack.http.put(f"{stack.notifications}/v1/care-teams/{client}", json={"therapist_ids": [therapist]},
                                  headers=admin)
        response.raise_for_status()


def drive(stack: Stack, phase: str, rate: float, seconds: float) -> tuple[dict[str, float], dict[str, float]]:
    """Submit at ``rate`` per second; returns, by client id of each risky submission, the time it
    was sent and the time the service stored it (the response's ``submitted_at``)."""
    sent: dict[str, float] = {}
    stored: dict[str, float] = {}
    total = int(rate * seconds)
    start = time.time() + 0.5

    def submit(n: int) -> None:
        risky = n % 10 == 0
        client = f"{phase}-risk-{n}" if risky else f"{phase}-c-{n % 50}"
        moment = start + n / rate
        time.sleep(max(0.0, moment - time.time()))
        sent_at = time.time()
        response = stack.http.post(
            f"{stack.questionnaires}/v1/responses",
            json={"client_id": client, "instrument": "phq9", "answers": RISKY if risky else SAFE},
            headers=stack.headers("client", client),
            timeout=30,
        )
        if response.status_code != 201:
            raise RuntimeError(f"submission answered {response.status_code}: {response.text[:200]}")
        if risky:
            sent[client] = sent_at
            stored[client] = datetime.fromisoformat(response.json()["submitted_at"].replace("Z", "+00:00")).timestamp()

    with ThreadPoolExecutor(max_workers=16) as pool:
        for future in [pool.submit(submit, n) for n in range(total)]:
            future.result()
    return sent, stored


def alerts_in_inbox(stack: Stack, therapist: str) -> dict[str, float]:
    """The urgent notifications in the therapist's inbox: {client id: created_at (epoch s)}."""
    found: dict[str, float] = {}
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = stack.http.get(f"{stack.notifications}/v1/notifications", params=params,
                              headers=stack.headers("therapist", therapist), timeout=30).json()
        for item in page["items"]:
            if item.get("priority") == "urgent" and item.get("client_id"):
                created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
                found.setdefault(item["client_id"], created.timestamp())
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def measure(stack: Stack, therapist: str, phase: str, rate: float, seconds: float) -> tuple[list[float], list[float]]:
    """Latencies submission -> inbox, and of them stored -> inbox (the request's own time left out)."""
    sent, stored = drive(stack, phase, rate, seconds)
    deadline = time.time() + 120
    while True:
        arrived = alerts_in_inbox(stack, therapist)
        if set(sent) <= set(arrived) or time.time() > deadline:
            break
        time.sleep(1)
    missing = set(sent) - set(arrived)
    if missing:
        print(f"  {phase}: {len(missing)} of {len(sent)} alerts had not arrived after 120 s")
    found = [client for client in sent if client in arrived]
    return [arrived[c] - sent[c] for c in found], [arrived[c] - stored[c] for c in found]


def backlog(stack: Stack, amqp_url: str, exchange: str, count: int) -> None:
    """Routine events for this tenant, published straight to the exchange, in front of the worker."""
    connection = amqp.connect(amqp_url)
    channel = connection.channel()
    for n in range(count):
        client = f"backlog-c-{n % 200}"
        if n % 2:
            data = {"goal_id": f"g-{n % 500}", "client_id": client, "therapist_id": "bench-t", "title": "Walk",
                    "value": float(n % 10), "percent": 10.0, "source": "client"}
            event = new_event("goal.progress_recorded", tenant=stack.tenant, subject=f"g-{n % 500}", data=data)
        else:
            data = {"response_id": f"r-{n}", "client_id": client, "instrument": "phq9", "therapist_id": "bench-t",
                    "score": {"total": 5, "severity": "mild", "flags": []}, "change": {}}
            event = new_event("questionnaire.scored", tenant=stack.tenant, subject=f"r-{n}", data=data)
        channel.basic_publish(exchange, event["type"][len("stepwise."):-len(".v1")], json.dumps(event).encode(),
                              message_properties(event))
    connection.close()


def drained(amqp_url: str, queue: str, started: float, result: dict) -> None:
    """Waits until ``queue`` is empty, then records the routine events the worker took per second
    since ``started`` (the backlog, and the steady load's own events published meanwhile)."""
    connection = amqp.connect(amqp_url)
    channel = connection.channel()
    while True:
        waiting = channel.queue_declare(queue, passive=True).method.message_count
        if waiting == 0:
            result["seconds"] = time.time() - started
            break
        time.sleep(0.2)
    connection.close()


def report(name: str, measured: tuple[list[float], list[float]], target: float) -> None:
    latencies, after_store = measured
    if not latencies:
        print(f"{name}: no alert arrived")
        return
    p50, p95, p99 = (percentile(latencies, q) for q in (0.5, 0.95, 0.99))
    verdict = "OK" if p99 < target else "ABOVE TARGET"
    print(f"{name}: {len(latencies)} alerts, submission -> inbox p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms (target p99 < {target:.0f} s) {verdict}; mean {statistics.mean(latencies) * 1000:.0f} ms")
    s50, s95, s99 = (percentile(after_store, q) for q in (0.5, 0.95, 0.99))
    print(f"  of which stored -> inbox: p50 {s50 * 1000:.0f} ms, p95 {s95 * 1000:.0f} ms, p99 {s99 * 1000:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--backlog", type=int, default=10000)
    args = parser.parse_args()
    stack = Stack(f"bench-{uuid.uuid4().hex[:8]}", os.environ.get("JWT_SECRET", DEV_JWT_SECRET))
    amqp_url = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
    exchange = os.environ.get("EVENTS_EXCHANGE", DEFAULT_EXCHANGE)
    therapist = "bench-t"
    per_phase = int(args.rate * args.seconds) // 10 + 1
    clients = [f"{phase}-risk-{n * 10}" for phase in ("steady", "backlog") for n in range(per_phase)]
    care_teams(stack, therapist, clients)
    print(f"tenant {stack.tenant}: {args.rate:.0f} PHQ-9/s for {args.seconds:.0f} s, one in ten risky")
    report("steady", measure(stack, therapist, "steady", args.rate, args.seconds), 1.0)
    queue = f"{os.environ.get('QUEUE_PREFIX', 'stepwise')}.notifications.rules"
    published = time.time()
    backlog(stack, amqp_url, exchange, args.backlog)
    drain: dict = {}
    watcher = threading.Thread(target=drained, args=(amqp_url, queue, published, drain), daemon=True)
    watcher.start()
    report(f"with a backlog of {args.backlog} routine events",
           measure(stack, therapist, "backlog", args.rate, args.seconds), 2.0)
    watcher.join(timeout=300)
    if "seconds" in drain:
        print(f"{queue}: the backlog of {args.backlog} drained {drain['seconds']:.1f} s after it was published, "
              f"while the steady load went on: {args.backlog / drain['seconds']:.0f} routine events/s at least")
    else:
        print(f"{queue}: the backlog was not drained within 300 s of the last submission")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (requests.ConnectionError, pika.exceptions.AMQPConnectionError) as exc:
        sys.exit(f"the stack does not answer ({exc.__class__.__name__}): start it with scripts/stack")
