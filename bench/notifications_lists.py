"""The notifications service's reads at scale against the same reads on an almost empty database.

    python bench/notifications_lists.py [--notifications 50000] [--alerts 10000] [--attempts 20000] [--reads 200]

Two databases on the same server (MONGO_URL, default the local server of scripts/servers), in
the same run. Both hold the lists that are read: one therapist's inbox (120 notifications over a
year, a third read), one tenant's alerts (240 over a year, 24 of them one client's) and one
webhook subscription's attempts (2,000 over ten days). The scale database also holds everyone
else's: ``--notifications`` for 1,000 other people, ``--alerts`` of other tenants and
``--attempts`` of other subscriptions. Records are written as the service writes them (the same
``Listing`` stamps and directory) with ``insert_many``.

Each read is made through the service's repositories, ``--reads`` times, and its p50 and p95
are printed for both databases with their ratio. Target (docs/STORAGE.md): a list read costs
what the page costs, not what the collection holds: ratio within 2.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pymongo

from services.notifications import config
from services.notifications.adapters.alerts import Alerts
from services.notifications.adapters.deliveries import WebhookAttempts
from services.notifications.adapters.notifications import Notifications
from services.notifications.adapters.timetables import deliveries as delivery_timetable
from shared.config import DEFAULT_MONGO_URL
from shared.mongo import Database, Scope

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
TENANT = "tenant-0"


def notification(tenant: str, recipient: str, n: int, at: datetime) -> dict:
    read = n % 3 == 0
    return {"_id": f"{tenant}-{recipient}-{n}", "tenant": tenant, "recipient_id": recipient, "recipient_role": "therapist",
            "client_id": f"client-{n % 40}", "type": "reminder", "priority": "normal", "title": "Check-in due",
            "body": "Your questionnaire is due.", "html": "<p>Your questionnaire is due.</p>", "event_id": f"e-{n}",
            "alert_id": None, "template": "questionnaire_due", "context": {}, "inbox": True, "created_at": at,
            "read_at": at if read else None, "unread": not read}


def alert(tenant: str, client: str, n: int, at: datetime) -> dict:
    status = "acknowledged" if n % 4 == 0 else "delivered"
    history = [{"action": "raised", "at": at, "by": None, "recipients": ["ther-1"], "channel": None},
               {"action": "delivered", "at": at, "by": None, "recipients": ["ther-1"], "channel": "inbox"}]
    if status == "acknowledged":
        history.append({"action": "acknowledged", "at": at, "by": "ther-1", "recipients": [], "channel": None})
    return {"_id": f"{tenant}-alert-{n}", "tenant": tenant, "client_id": client, "event_id": f"e-{n}", "raised_at": at,
            "flagged_at": at, "recipients": ["ther-1"], "escalate_at": at + timedelta(minutes=30),
            "context": {"instrument": "phq9", "response_id": f"r-{n}", "flags": []},
            "status": status, "history": history, "version": len(history) - 1}


def attempt(tenant: str, subscription: str, n: int, at: datetime) -> dict:
    return {"_id": f"{subscription}-d{n}:1", "tenant": tenant, "kind": "webhook", "notification_id": None,
            "recipient_id": None, "subscription_id": subscription, "client_id": None, "event_id": f"e-{n}",
            "event_type": "goal.achieved", "delivery_id": f"{subscription}-d{n}", "attempt": 1, "at": at,
            "outcome": "delivered", "final": True, "next_attempt_at": None, "status": 204, "error": None, "ended": True}


def fill(database: Database, documents, collection: str, stamp) -> None:
    batch = []
    for document in documents:
        batch.append(stamp(database, document))
        if len(batch) == 1000:
            database[collection].insert_many(batch)
            batch = []
    if batch:
        database[collection].insert_many(batch)


def measured_lists(database: Database) -> None:
    year = [NOW - timedelta(days=365 * n / 120) for n in range(120)]
    fill(database, (notification(TENANT, "ther-measured", n, at) for n, at in enumerate(year)),
         config.NOTIFICATIONS, config.RECIPIENT_NOTIFICATIONS.stamp)
    raised = [NOW - timedelta(days=365 * n / 240) for n in range(240)]
    fill(database, (alert(TENANT, "client-measured" if n % 10 == 0 else f"client-{n}", n, at) for n, at in enumerate(raised)),
         config.ALERTS, lambda db, doc: config.TENANT_ALERTS.stamp(db, config.CLIENT_ALERTS.stamp(db, doc)))
    days = [NOW - timedelta(days=10 * n / 2000) for n in range(2000)]
    fill(database, (attempt(TENANT, "sub-measured", n, at) for n, at in enumerate(days)),
         config.DELIVERY_ATTEMPTS, config.WEBHOOK_ATTEMPTS.stamp)
    timetable = delivery_timetable(database, "email")
    for n in range(200):  # work waiting on quiet hours
        timetable.put(f"later-{n}", NOW + timedelta(hours=8, seconds=n), NOW, delivery_id=f"later-{n}", tenant=TENANT)


def everyone_else(database: Database, notifications: int, alerts: int, attempts: int) -> None:
    fill(database, (notification(f"tenant-{n % 10}", f"person-{n % 1000}", n, NOW - timedelta(minutes=(n * 7) % 525600))
                    for n in range(notifications)), config.NOTIFICATIONS, config.RECIPIENT_NOTIFICATIONS.stamp)
    fill(database, (alert(f"tenant-{1 + n % 9}", f"client-{n % 500}", n, NOW - timedelta(minutes=(n * 11) % 525600))
                    for n in range(alerts)), config.ALERTS,
         lambda db, doc: config.TENANT_ALERTS.stamp(db, config.CLIENT_ALERTS.stamp(db, doc)))
    fill(database, (attempt(TENANT, f"sub-{n % 50}", n, NOW - timedelta(minutes=n % 14400)) for n in range(attempts)),
         config.DELIVERY_ATTEMPTS, config.WEBHOOK_ATTEMPTS.stamp)


def reads(database: Database) -> dict:
    scope = Scope(TENANT)
    inbox, alerts, hooks = Notifications(database, scope), Alerts(database, scope), WebhookAttempts(database, scope)
    timetable = delivery_timetable(database, "email")
    second_page = inbox.inbox("ther-measured", None, 50, None)[1]
    return {
        "inbox, first page (50)": lambda: inbox.inbox("ther-measured", None, 50, None),
        "inbox, second page": lambda: inbox.inbox("ther-measured", None, 50, second_page),
        "inbox, unread (50)": lambda: inbox.inbox("ther-measured", True, 50, None),
        "alerts of a tenant, delivered (50)": lambda: alerts.page(None, "delivered", 50, None),
        "alerts of a client (50)": lambda: alerts.page("client-measured", None, 50, None),
        "webhook deliveries (50)": lambda: hooks.page("sub-measured", 50, None),
        "email timetable round, nothing due": lambda: timetable.run(NOW, lambda entry: None),
    }


def timings(databases: list[Database], count: int) -> list[dict[str, tuple[float, float]]]:
    """p50 and p95 (ms) of each read on each database, the databases taking turns read by read
    so that both see the same load on the machine."""
    found: list[dict[str, tuple[float, float]]] = [{} for _ in databases]
    for name in reads(databases[0]):
        calls = [reads(database)[name] for database in databases]
        taken: list[list[float]] = [[] for _ in databases]
        for call in calls:
            call()  # warm
        for _ in range(count):
            for call, times in zip(calls, taken, strict=True):
                start = time.perf_counter()
                call()
                times.append((time.perf_counter() - start) * 1000)
        for result, times in zip(found, taken, strict=True):
            result[name] = (statistics.median(times), statistics.quantiles(times, n=20)[18])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifications", type=int, default=50_000, help="other people's notifications")
    parser.add_argument("--alerts", type=int, default=10_000, help="other tenants' alerts")
    parser.add_argument("--attempts", type=int, default=20_000, help="other subscriptions' webhook attempts")
    parser.add_argument("--reads", type=int, default=200, help="times each read is made")
    args = parser.parse_args()
    url = os.environ.get("MONGO_URL", DEFAULT_MONGO_URL)
    run = uuid.uuid4().hex[:8]
    empty = Database(url, f"bench_{run}_notifications_empty", config.INDEXES)
    scale = Database(url, f"bench_{run}_notifications_scale", config.INDEXES)
    try:
        for database in (empty, scale):
            measured_lists(database)
        started = time.perf_counter()
        everyone_else(scale, args.notifications, args.alerts, args.attempts)
        print(f"filled the scale database in {time.perf_counter() - started:.0f} s")
        small, large = timings([empty, scale], args.reads)
        print(f"{'read':40} {'empty p50/p95 ms':>18} {'scale p50/p95 ms':>18} {'p95 ratio':>10}")
        for name in small:
            (p50e, p95e), (p50s, p95s) = small[name], large[name]
            print(f"{name:40} {p50e:8.1f} /{p95e:7.1f} {p50s:8.1f} /{p95s:7.1f} {p95s / p95e:10.2f}")
    finally:
        client: pymongo.MongoClient[dict] = pymongo.MongoClient(url)
        for database in (empty, scale):
            client.drop_database(database.name)
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
