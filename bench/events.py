"""Events per second through the whole backbone against raw pika on the same broker, same run.

    python bench/events.py [--events 2000]

Stepwise path: a producer inserts N records, each carrying one event (the outbox); the relay
publishes them with confirms; the consumer runner takes each one, writes its idempotency mark
and acks. Raw path: pika publishes N messages with confirms while a plain consumer acks them.
Both are timed from the first write to the last message consumed. Target: Stepwise at least
half the raw rate. Uses MONGO_URL / AMQP_URL (defaults: the local servers of scripts/servers).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pika  # noqa: E402
import pymongo  # noqa: E402

from shared.config import DEFAULT_AMQP_URL, DEFAULT_MONGO_URL, load_settings  # noqa: E402
from shared.events import amqp  # noqa: E402
from shared.events.consumer import Subscription  # noqa: E402
from shared.events.envelope import new_event  # noqa: E402
from shared.events.outbox import with_events  # noqa: E402
from shared.mongo import Database, insert_once  # noqa: E402
from shared.worker import Worker  # noqa: E402


def sample_event(n: int) -> dict:
    return new_event("goal.achieved", tenant="bench", subject=f"g-{n}", data={"goal_id": f"g-{n}", "client_id": "c-1"})


def raw_rate(amqp_url: str, count: int, run_id: str) -> float:
    exchange, queue = f"bench.raw.{run_id}", f"bench.raw.{run_id}"
    setup = amqp.connect(amqp_url)
    channel = setup.channel()
    amqp.declare_exchange(channel, exchange)
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, exchange, routing_key="goal.#")
    received = threading.Event()

    def consume() -> None:
        connection = amqp.connect(amqp_url)
        consumer_channel = connection.channel()
        consumer_channel.basic_qos(prefetch_count=32)
        seen = 0
        for method, _props, _body in consumer_channel.consume(queue):
            consumer_channel.basic_ack(method.delivery_tag)
            seen += 1
            if seen == count:
                break
        consumer_channel.cancel()
        connection.close()
        received.set()

    bodies = [pika.compat.as_bytes(str(sample_event(n))) for n in range(count)]
    thread = threading.Thread(target=consume)
    thread.start()
    publisher = amqp.connect(amqp_url)
    publish_channel = publisher.channel()
    publish_channel.confirm_delivery()
    started = time.perf_counter()
    for body in bodies:
        publish_channel.basic_publish(
            exchange, "goal.achieved", body, pika.BasicProperties(delivery_mode=2), mandatory=True
        )
    received.wait()
    elapsed = time.perf_counter() - started
    publisher.close()
    thread.join()
    channel.queue_delete(queue)
    channel.exchange_delete(exchange)
    setup.close()
    return count / elapsed


def stepwise_rate(mongo_url: str, amqp_url: str, count: int, run_id: str) -> float:
    def settings_for(service: str):
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

    # Producer and consumer are two services, each with its own database, as in a deployment.
    producer, consumer = settings_for("producer"), settings_for("consumer")
    producer_db = Database(producer.mongo_url, producer.database)
    consumer_db = Database(consumer.mongo_url, consumer.database)
    handled = threading.Semaphore(0)
    sink = Worker(
        settings=consumer,
        database=consumer_db,
        subscriptions=[Subscription("sink", ["goal.#"], lambda event: handled.release())],
    ).start()
    assert sink.consumer is not None and sink.consumer.ready.wait(15)
    relay = Worker(settings=producer, database=producer_db, outbox_collections=["records"]).start()
    events = [sample_event(n) for n in range(count)]
    records = producer_db["records"]
    started = time.perf_counter()
    for event in events:
        insert_once(records, with_events({"_id": str(uuid.uuid4())}, [event], datetime.now(timezone.utc)))
    for _ in range(count):
        handled.acquire()
    elapsed = time.perf_counter() - started
    relay.stop()
    sink.stop()
    connection = amqp.connect(amqp_url)
    channel = connection.channel()
    queue = f"bench.{run_id}.sink"
    for name in (queue, amqp.dead_letter_queue(queue), *(amqp.retry_queue(queue, d) for d in consumer.retry_delays)):
        channel.queue_delete(name)
    channel.exchange_delete(consumer.exchange)
    connection.close()
    client = pymongo.MongoClient(mongo_url)
    for database in (producer_db, consumer_db):
        client.drop_database(database.name)
    return count / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    mongo_url = os.environ.get("MONGO_URL", DEFAULT_MONGO_URL)
    amqp_url = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
    run_id = uuid.uuid4().hex[:8]
    raw = raw_rate(amqp_url, args.events, run_id)
    ours = stepwise_rate(mongo_url, amqp_url, args.events, run_id)
    ratio = ours / raw
    print(f"raw pika publish-with-confirms + consume: {raw:8.0f} events/s")
    print(f"stepwise outbox -> relay -> broker -> consumer (+ idempotency write): {ours:8.0f} events/s")
    print(f"ratio: {ratio:.2f} (target >= 0.50) {'OK' if ratio >= 0.5 else 'BELOW TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
