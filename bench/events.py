"""Events per second through the whole backbone against raw pika on the same broker, same run.

    python bench/events.py [--events 5000] [--writers 4]

Each role runs in its own process, as in a deployment. Four figures, every one measured in this
run, so each can be read as a ratio of the others on this (shared, noisy) machine:

- raw, confirmed one by one: a pika publisher waits for each confirm before the next (what a
  careful hand-written publisher does), a consumer acks;
- raw, unconfirmed: a pika publisher publishes without confirms (the broker's ceiling: nothing is
  known to be safe), a consumer acks;
- Stepwise, relayed: N records, each carrying one event, are stored in the outbox first; then a
  relay process (the producer's worker) publishes them with many confirms in flight and a
  consumer process (another service's worker, with its own database) takes each, writes its
  idempotency marks and acks: outbox -> relay -> broker -> consumer;
- Stepwise, end to end: the same, while ``--writers`` producer processes (API workers) store the
  records, timed from the first write.

Targets (the event-backbone issue): Stepwise relayed >= 2x the one-by-one loop and >= 0.3x the
unconfirmed ceiling. Uses MONGO_URL / AMQP_URL (defaults: the local servers of scripts/servers).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pika
import pymongo

from shared.config import DEFAULT_AMQP_URL, DEFAULT_MONGO_URL, load_settings
from shared.events import amqp
from shared.events.consumer import Subscription
from shared.events.envelope import new_event
from shared.events.outbox import with_events
from shared.mongo import Database, insert_once
from shared.worker import Worker


def sample_event(n: int) -> dict:
    return new_event("goal.achieved", tenant="bench", subject=f"g-{n}", data={"goal_id": f"g-{n}", "client_id": "c-1"})


def settings_for(service: str, mongo_url: str, amqp_url: str, run_id: str):
    return load_settings(
        service,
        {
            "MONGO_URL": mongo_url,
            "AMQP_URL": amqp_url,
            "JWT_SECRET": "bench-secret-not-used-for-anything-0000",
            "MONGO_DATABASE": f"bench_{run_id}_{service}",
            "EVENTS_EXCHANGE": f"bench.stepwise.{run_id}",
            "QUEUE_PREFIX": f"bench.{run_id}",
            "OUTBOX_POLL_SECONDS": "0.02",
        },
    )


# -- raw pika ---------------------------------------------------------------------------------


def raw_consumer(amqp_url: str, queue: str, count: int, ready, done) -> None:
    connection = amqp.connect(amqp_url)
    channel = connection.channel()
    channel.basic_qos(prefetch_count=32)
    ready.set()
    for seen, (method, _props, _body) in enumerate(channel.consume(queue), start=1):
        assert method.delivery_tag is not None  # a delivery always carries its tag
        channel.basic_ack(method.delivery_tag)
        if seen == count:
            break
    done.set()
    connection.close()


def raw_publisher(amqp_url: str, exchange: str, count: int, go, confirmed: bool) -> None:
    bodies = [json.dumps(sample_event(n)).encode() for n in range(count)]
    connection = amqp.connect(amqp_url)
    channel = connection.channel()
    if confirmed:
        channel.confirm_delivery()  # each basic_publish now waits for its confirm
    go.wait()
    for body in bodies:
        channel.basic_publish(exchange, "goal.achieved", body, pika.BasicProperties(delivery_mode=2), mandatory=True)
    connection.close()


def raw_rate(amqp_url: str, count: int, run_id: str, confirmed: bool) -> float:
    exchange = queue = f"bench.raw.{run_id}.{'confirmed' if confirmed else 'unconfirmed'}"
    setup = amqp.connect(amqp_url)
    channel = setup.channel()
    amqp.declare_exchange(channel, exchange)
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, exchange, routing_key="goal.#")
    ready, go, done = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Event()
    processes = [
        multiprocessing.Process(target=raw_consumer, args=(amqp_url, queue, count, ready, done)),
        multiprocessing.Process(target=raw_publisher, args=(amqp_url, exchange, count, go, confirmed)),
    ]
    for process in processes:
        process.start()
    ready.wait()
    time.sleep(0.5)  # let the publisher connect
    started = time.perf_counter()
    go.set()
    done.wait()
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    channel.queue_delete(queue)
    channel.exchange_delete(exchange)
    setup.close()
    return count / elapsed


# -- stepwise ---------------------------------------------------------------------------------


def stepwise_consumer(mongo_url, amqp_url, run_id, count, ready, done, stop) -> None:
    settings = settings_for("consumer", mongo_url, amqp_url, run_id)
    handled = [0]

    def handle(event: dict) -> None:
        handled[0] += 1
        if handled[0] == count:
            done.set()

    worker = Worker(
        settings=settings,
        database=Database(settings.mongo_url, settings.database),
        subscriptions=[Subscription("sink", ["goal.#"], handle)],
    ).start()
    assert worker.ready(15)
    ready.set()
    stop.wait()
    worker.stop()


def stepwise_relay(mongo_url, amqp_url, run_id, go, stop) -> None:
    settings = settings_for("producer", mongo_url, amqp_url, run_id)
    go.wait()
    worker = Worker(
        settings=settings, database=Database(settings.mongo_url, settings.database), outbox_collections=["records"]
    ).start()
    stop.wait()
    worker.stop()


def stepwise_producer(mongo_url, amqp_url, run_id, numbers, go, stored) -> None:
    settings = settings_for("producer", mongo_url, amqp_url, run_id)
    records = Database(settings.mongo_url, settings.database)["records"]
    events = [sample_event(n) for n in numbers]
    go.wait()
    for event in events:
        insert_once(records, with_events({"_id": str(uuid.uuid4())}, [event], datetime.now(timezone.utc)))
    stored.release()


def stepwise_rate(mongo_url: str, amqp_url: str, count: int, run_id: str, writers: int, prefill: bool) -> float:
    """Events/s from the start to the last event consumed: the start is the relay's start when the
    outbox was filled first (``prefill``), else the writers' first write."""
    ready, write, relay, done, stop = (multiprocessing.Event() for _ in range(5))
    stored = multiprocessing.Semaphore(0)
    processes = [
        multiprocessing.Process(target=stepwise_consumer, args=(mongo_url, amqp_url, run_id, count, ready, done, stop)),
        multiprocessing.Process(target=stepwise_relay, args=(mongo_url, amqp_url, run_id, relay, stop)),
        *(
            multiprocessing.Process(
                target=stepwise_producer, args=(mongo_url, amqp_url, run_id, range(w, count, writers), write, stored)
            )
            for w in range(writers)
        ),
    ]
    for process in processes:
        process.start()
    ready.wait()
    time.sleep(0.5)  # let the producers connect
    if prefill:
        write.set()
        for _ in range(writers):
            stored.acquire()
        started = time.perf_counter()
        relay.set()
    else:
        relay.set()
        time.sleep(1.0)  # let the relay connect
        started = time.perf_counter()
        write.set()
    done.wait()
    elapsed = time.perf_counter() - started
    stop.set()
    for process in processes:
        process.join()
    cleanup(mongo_url, amqp_url, run_id)
    return count / elapsed


def cleanup(mongo_url: str, amqp_url: str, run_id: str) -> None:
    consumer = settings_for("consumer", mongo_url, amqp_url, run_id)
    connection = amqp.connect(amqp_url)
    channel = connection.channel()
    queue = f"bench.{run_id}.sink"
    for name in (queue, amqp.dead_letter_queue(queue), *(amqp.retry_queue(queue, d) for d in consumer.retry_delays)):
        channel.queue_delete(name)
    channel.exchange_delete(consumer.exchange)
    connection.close()
    client: pymongo.MongoClient[dict] = pymongo.MongoClient(mongo_url)
    for service in ("producer", "consumer"):
        client.drop_database(f"bench_{run_id}_{service}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=4, help="producer processes in the end-to-end figure")
    args = parser.parse_args()
    mongo_url = os.environ.get("MONGO_URL", DEFAULT_MONGO_URL)
    amqp_url = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
    run_id = uuid.uuid4().hex[:8]
    one_by_one = raw_rate(amqp_url, args.events, run_id, confirmed=True)
    ceiling = raw_rate(amqp_url, args.events, run_id, confirmed=False)
    relayed = stepwise_rate(mongo_url, amqp_url, args.events, f"{run_id}r", 1, prefill=True)
    end_to_end = stepwise_rate(mongo_url, amqp_url, args.events, f"{run_id}e", args.writers, prefill=False)
    print(f"events: {args.events} (each figure measured in this run)")
    print(f"raw pika, each publish waits for its confirm, + consume: {one_by_one:8.0f} events/s")
    print(f"raw pika, no confirms (the ceiling), + consume:          {ceiling:8.0f} events/s")
    print(f"stepwise outbox -> relay -> broker -> consumer:          {relayed:8.0f} events/s"
          f"  = {relayed / one_by_one:.2f}x one-by-one (target >= 2), {relayed / ceiling:.2f}x ceiling (target >= 0.3)")
    print(f"stepwise end to end, {args.writers} writers storing meanwhile:       {end_to_end:8.0f} events/s"
          f"  = {end_to_end / one_by_one:.2f}x one-by-one, {end_to_end / ceiling:.2f}x ceiling")
    return 0


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    sys.exit(main())
