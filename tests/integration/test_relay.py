"""The outbox relay at speed: many confirms in flight, replicas sharing partitions without
duplicates, order kept per subject, and no loss when a relay dies with confirms in flight."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

from shared.events.envelope import new_event
from shared.events.outbox import Relay, pending_count, with_events
from shared.leases import Leases
from shared.mongo import Database, insert_once
from tests.support.harness import wait_for

NOW = datetime(2026, 3, 2, 10, 0, 0, tzinfo=timezone.utc)


def progress(goal_id: str, n: int, tenant: str = "clinic-a") -> dict:
    data = {"goal_id": goal_id, "client_id": "c-1", "value": float(n), "source": "client"}
    return new_event("goal.progress_recorded", tenant=tenant, subject=goal_id, data=data)


def store(database: Database, events: list[dict]) -> None:
    for event in events:
        insert_once(database["records"], with_events({"_id": event["id"]}, [event], datetime.now(timezone.utc)))


def consumed(harness, queue: str, into: list[dict]) -> int:
    into.extend(json.loads(body) for _, body in harness.drain(queue))
    return len(into)


def test_leases_split_the_pieces_between_replicas_and_a_lone_replica_takes_them_all(harness):
    database = Database(harness.mongo_url, harness.database_name("leases"))
    pieces = [str(n) for n in range(16)]
    first = Leases(database, "outbox", pieces, member_id="a")
    # Alone, a replica owns every piece at once.
    assert first.owned(NOW + timedelta(seconds=1)) == frozenset(pieces)

    second = Leases(database, "outbox", pieces, member_id="b")
    assert second.owned(NOW + timedelta(seconds=1)) == frozenset(), "the first replica holds this window"
    # Before the next window each claims its share; no piece is owned twice.
    late = NOW + timedelta(seconds=7)
    first.owned(late), second.owned(late)
    nxt = NOW + timedelta(seconds=11)
    mine = first.owned(nxt)
    assert len(mine) == 8
    # The second starts on its share only once the first has handed it over.
    assert second.owned(nxt) == frozenset()
    leaving = first.to_release(nxt)
    assert sorted(piece for piece, _ in leaving) == sorted(set(pieces) - mine)
    for piece, window in leaving:
        first.release(piece, window)
    theirs = second.owned(nxt)
    assert mine | theirs == frozenset(pieces) and not mine & theirs
    # A share whose owner died (never released) is taken over later in the window.
    assert Leases(database, "outbox", pieces, member_id="c").owned(NOW + timedelta(seconds=16)) == frozenset()

    # The second replica stops: after a window or two its pieces fall to the first.
    later = NOW + timedelta(seconds=41)
    first.owned(later - timedelta(seconds=4))
    assert first.owned(later) == frozenset(pieces)


def test_a_relay_keeps_many_confirms_in_flight_and_loses_nothing(harness):
    settings = harness.settings("producer")
    database = Database(settings.mongo_url, settings.database)
    queue = harness.bind_queue(["goal.#"])
    events = [progress(f"g-{n % 20}", n) for n in range(600)]
    store(database, events)
    relay = Relay(database, harness.amqp_url, harness.exchange, collections=["records"], batch=200)
    relay.ensure_indexes()
    while pending_count(database):
        relay.run_once()
    got: list[dict] = []
    wait_for(lambda: consumed(harness, queue, got) >= 600, what="every event in the queue")
    assert sorted(e["id"] for e in got) == sorted(e["id"] for e in events)


def test_two_relay_replicas_share_one_journal_without_publishing_twice_and_keep_each_subjects_order(harness):
    settings = harness.settings("producer", OUTBOX_POLL_SECONDS="0.02")
    database = Database(settings.mongo_url, settings.database)
    queue = harness.bind_queue(["goal.#"])
    stop = threading.Event()
    relays = [Relay(database, harness.amqp_url, harness.exchange, collections=["records"], member_id=m) for m in "ab"]
    relays[0].ensure_indexes()
    threads = [threading.Thread(target=r.run, args=(stop, 0.02), daemon=True) for r in relays]
    for thread in threads:
        thread.start()
    try:
        # Writers keep storing while both relays publish: 24 goals with a sequence of progress
        # each, every goal's sequence stored in order by one of three writers.
        events = [progress(f"g-{n % 24}", n) for n in range(1500)]
        writers = [
            threading.Thread(target=store, args=(database, [e for e in events if int(e["subject"][2:]) % 3 == i]))
            for i in range(3)
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        got: list[dict] = []
        wait_for(lambda: consumed(harness, queue, got) >= len(events), timeout=120, what="every event published")
        wait_for(lambda: pending_count(database) == 0, what="an empty journal")
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
    consumed(harness, queue, got)
    counts = Counter(e["id"] for e in got)
    assert set(counts) == {e["id"] for e in events}
    assert [i for i, c in counts.items() if c > 1] == [], "no event is published twice without a fault"
    assert all(r.published > 0 for r in relays), "both replicas did part of the work"
    # Each goal's events arrive in the order they were stored.
    for goal in {e["subject"] for e in events}:
        sent = [e["data"]["value"] for e in events if e["subject"] == goal]
        arrived = [e["data"]["value"] for e in got if e["subject"] == goal]
        assert arrived == sent, f"order of {goal}"


KILLED_RELAY = textwrap.dedent(
    """
    import threading, time
    from shared.events import pipeline
    from shared.config import load_settings
    from shared.events.outbox import Relay
    from shared.mongo import Database

    settings = load_settings("producer")
    database = Database(settings.mongo_url, settings.database)
    relay = Relay(database, settings.amqp_url, settings.exchange, collections=["records"], batch=1000,
                  max_in_flight=5000)
    # Confirms are settled slowly, so that many are in flight when the process is killed.
    settle = relay._settle
    def slow_settle(outcomes):
        time.sleep(0.05)
        settle(outcomes)
    relay._settle = slow_settle
    relay.run(threading.Event(), 0.02)
    """
)


def test_a_relay_killed_with_confirms_in_flight_loses_no_event(harness):
    settings = harness.settings("producer")
    database = Database(settings.mongo_url, settings.database)
    queue = harness.bind_queue(["goal.#"])
    events = [progress(f"g-{n % 10}", n) for n in range(2000)]
    store(database, events)
    Relay(database, harness.amqp_url, harness.exchange, collections=["records"]).ensure_indexes()
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_RELAY],
        env={**os.environ, **harness.env("producer"), "PYTHONPATH": os.getcwd()},
    )
    got: list[dict] = []
    try:
        wait_for(lambda: consumed(harness, queue, got) > 0, timeout=30, what="the relay to start publishing")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    assert pending_count(database) > 0, "killed mid-way, with events still waiting"
    # A new relay (a restarted worker) publishes what the dead one left unconfirmed or unmarked.
    relay = Relay(database, harness.amqp_url, harness.exchange, collections=["records"], member_id=uuid.uuid4().hex)
    wait_for(lambda: relay.run_once() == 0 and pending_count(database) == 0, timeout=60, what="the backlog drained")
    wait_for(lambda: consumed(harness, queue, got) >= len(events) and
             {e["id"] for e in got} >= {e["id"] for e in events}, what="every event")
    assert {e["id"] for e in got} == {e["id"] for e in events}
