"""The event backbone against the real broker and database: confirms, ack after store, retries,
dead letters, idempotent redelivery, outbox catch-up after an outage, a consumer killed mid-message."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pika
import pytest

from shared.events import amqp
from shared.events.consumer import PROCESSED, Subscription, queue_name, was_handled
from shared.events.deadletters import list_dead, replay_dead
from shared.events.envelope import new_event
from shared.clock import FixedClock
from shared.events.outbox import UNROUTABLE_BACKOFF_SECONDS, Relay, pending_count, with_events
from shared.events.publisher import Publisher, Unroutable
from shared.metrics import EVENTS_DEAD_LETTERED
from shared.journal import SLOT_SECONDS, new_entry_id
from shared.periods import slot_of
from shared.mongo import Database, insert_once
from shared.worker import Worker
from tests.support.harness import wait_for
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration


def achieved(goal_id: str = "g-1", tenant: str = "clinic-a") -> dict:
    return new_event("goal.achieved", tenant=tenant, subject=goal_id, data={"goal_id": goal_id, "client_id": "c-1"})


def publish_raw(amqp_url: str, exchange: str, event: dict) -> None:
    publisher = Publisher(amqp_url, exchange)
    publisher.publish(event)
    publisher.close()


def recording_handler(database: Database, collection: str = "effects"):
    """A handler whose every call leaves one document: the test counts calls by counting them."""

    def handle(event: dict) -> None:
        database[collection].insert_one({"event_id": event["id"], "at": datetime.now(timezone.utc)})

    return handle


def test_publisher_waits_for_confirms_and_sends_persistent_cloudevents(harness):
    queue = harness.bind_queue(["goal.*"])
    event = achieved()
    publish_raw(harness.amqp_url, harness.exchange, event)

    [(properties, body)] = harness.drain(queue)
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/cloudevents+json"
    assert properties.message_id == event["id"]
    assert json.loads(body) == event


def test_publisher_reports_an_event_no_queue_is_bound_for(harness):
    publisher = Publisher(harness.amqp_url, harness.exchange)
    with pytest.raises(Unroutable):
        publisher.publish(achieved())
    publisher.close()


def test_consumer_acks_only_after_the_handler_stored_its_work(harness):
    settings = harness.settings("backbone")
    database = Database(settings.mongo_url, settings.database)
    seen_unacked = []

    def handler(event: dict) -> None:
        # While the handler runs, the message is delivered but not yet acknowledged.
        seen_unacked.append(harness.message_count(queue_name(settings.queue_prefix, "recorder")))
        recording_handler(database)(event)

    harness.start(Worker(settings=settings, database=database, subscriptions=[Subscription("recorder", ["goal.#"], handler)]))
    event = achieved()
    publish_raw(harness.amqp_url, harness.exchange, event)

    wait_for(lambda: was_handled(database, "recorder", event["id"]), what="the processed mark")
    assert database["effects"].count_documents({"event_id": event["id"]}) == 1
    assert seen_unacked == [0]
    wait_for(lambda: harness.message_count(queue_name(settings.queue_prefix, "recorder")) == 0, what="an empty queue")


def test_the_same_event_delivered_twice_has_one_effect(harness):
    settings = harness.settings("backbone")
    database = Database(settings.mongo_url, settings.database)
    harness.start(
        Worker(settings=settings, database=database, subscriptions=[Subscription("recorder", ["goal.#"], recording_handler(database))])
    )
    event = achieved()
    for _ in range(3):
        publish_raw(harness.amqp_url, harness.exchange, event)
    wait_for(lambda: was_handled(database, "recorder", event["id"]), what="the processed mark")
    wait_for(lambda: harness.message_count(queue_name(settings.queue_prefix, "recorder")) == 0, what="all copies taken")
    assert database["effects"].count_documents({"event_id": event["id"]}) == 1


def test_a_failing_handler_is_retried_with_delay_then_dead_lettered(harness):
    settings = harness.settings("backbone", RETRY_DELAYS="0.1,0.3")
    database = Database(settings.mongo_url, settings.database)

    def always_fails(event: dict) -> None:
        database["attempts"].insert_one({"event_id": event["id"], "at": datetime.now(timezone.utc)})
        raise RuntimeError("goal store rejected the write")

    harness.start(Worker(settings=settings, database=database, subscriptions=[Subscription("fragile", ["goal.#"], always_fails)]))
    event = achieved()
    publish_raw(harness.amqp_url, harness.exchange, event)

    queue = queue_name(settings.queue_prefix, "fragile")
    wait_for(lambda: harness.message_count(amqp.dead_letter_queue(queue)) == 1, what="a dead letter")
    attempts = sorted(doc["at"] for doc in database["attempts"].find({"event_id": event["id"]}))
    assert len(attempts) == 3  # the first try and two retries
    assert (attempts[1] - attempts[0]).total_seconds() >= 0.1
    assert (attempts[2] - attempts[1]).total_seconds() >= 0.3
    assert not was_handled(database, "fragile", event["id"])

    connection = amqp.connect(harness.amqp_url)
    [row] = list_dead(connection.channel(), queue, 10)
    connection.close()
    assert row["id"] == event["id"]
    assert row["attempts"] == 2
    assert row["reason"] == "failed"
    assert "RuntimeError" in row["error"]
    assert harness.message_count(amqp.dead_letter_queue(queue)) == 1, "listing must not remove dead letters"


def test_a_handler_that_recovers_on_retry_has_one_effect(harness):
    settings = harness.settings("backbone", RETRY_DELAYS="0.1,0.1")
    database = Database(settings.mongo_url, settings.database)

    def flaky(event: dict) -> None:
        if not insert_once(database["first_try"], {"_id": event["id"]}):
            database["effects"].insert_one({"event_id": event["id"]})
            return
        raise ConnectionResetError("downstream hiccup")

    harness.start(Worker(settings=settings, database=database, subscriptions=[Subscription("flaky", ["goal.#"], flaky)]))
    event = achieved()
    publish_raw(harness.amqp_url, harness.exchange, event)
    wait_for(lambda: was_handled(database, "flaky", event["id"]), what="the processed mark")
    assert database["effects"].count_documents({"event_id": event["id"]}) == 1


def test_dead_letters_can_be_replayed_once_the_fault_is_fixed(harness):
    settings = harness.settings("backbone", RETRY_DELAYS="0.1")
    database = Database(settings.mongo_url, settings.database)
    fixed = {"yes": False}

    def handler(event: dict) -> None:
        if not fixed["yes"]:
            raise RuntimeError("bug")
        recording_handler(database)(event)

    harness.start(Worker(settings=settings, database=database, subscriptions=[Subscription("buggy", ["goal.#"], handler)]))
    event = achieved()
    publish_raw(harness.amqp_url, harness.exchange, event)
    queue = queue_name(settings.queue_prefix, "buggy")
    wait_for(lambda: harness.message_count(amqp.dead_letter_queue(queue)) == 1, what="a dead letter")

    fixed["yes"] = True
    connection = amqp.connect(harness.amqp_url)
    assert replay_dead(connection, queue, event["id"], 10) == 1
    connection.close()
    wait_for(lambda: database["effects"].find_one({"event_id": event["id"]}), what="the replayed event's effect")
    assert harness.message_count(amqp.dead_letter_queue(queue)) == 0


def one_consumer_worker(harness, consumer: str) -> Worker:
    """A worker with one recording consumer (not started), its queues deleted after the test."""
    settings = harness.settings("backbone")
    database = Database(settings.mongo_url, settings.database)
    worker = Worker(settings=settings, database=database, subscriptions=[Subscription(consumer, ["goal.#"], recording_handler(database))])
    for each in worker.consumers:
        harness.track_queue(each.topology.queue, each.retry_delays)
    return worker


def test_every_queue_of_a_consumer_is_a_replicated_quorum_queue(harness):
    worker = one_consumer_worker(harness, "typed")
    worker.declare()
    [consumer] = worker.consumers
    queue = consumer.topology.queue
    declared = consumer.topology.queues()
    assert sorted(name for name, _ in declared) == sorted(
        [queue, amqp.dead_letter_queue(queue), *(amqp.retry_queue(queue, delay) for delay in consumer.retry_delays)])
    connection = amqp.connect(harness.amqp_url)
    try:
        for name, arguments in declared:
            # The broker refuses to see a quorum queue as a classic one: the type is the queue's own.
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
                connection.channel().queue_declare(name, durable=True, arguments={**arguments, "x-queue-type": "classic"})
            assert refused.value.reply_code == 406 and "x-queue-type" in refused.value.reply_text
            connection.channel().queue_declare(name, passive=True)
    finally:
        connection.close()
    # Declaring again (every worker start does) agrees with what is there.
    worker.declare()


def test_a_classic_queue_left_by_an_earlier_version_is_refused_not_used(harness):
    worker = one_consumer_worker(harness, "old")
    [consumer] = worker.consumers
    connection = amqp.connect(harness.amqp_url)
    connection.channel().queue_declare(consumer.topology.queue, durable=True)
    connection.close()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        worker.declare()
    assert refused.value.reply_code == 406


def test_dead_letters_move_into_another_queue_when_replayed_into_it(harness):
    """The migration from classic queues (docs/DEPLOY.md): the old queue's dead letters are replayed
    into the quorum queue that succeeds it."""
    old = harness.track_queue(f"{harness.queue_prefix}.classic.rules")
    successor = harness.bind_queue([], name=f"{harness.queue_prefix}.quorum.rules")
    connection = amqp.connect(harness.amqp_url)
    channel = connection.channel()
    channel.queue_declare(amqp.dead_letter_queue(old), durable=True)
    harness.track_queue(amqp.dead_letter_queue(old))
    events = [achieved(f"g-{n}") for n in range(3)]
    for event in events:
        channel.basic_publish("", amqp.dead_letter_queue(old), json.dumps(event).encode(),
                              pika.BasicProperties(message_id=event["id"], headers={"x-stepwise-error": "bug"}))
    wait_for(lambda: harness.message_count(amqp.dead_letter_queue(old)) == 3, what="three old dead letters")
    assert replay_dead(connection, old, None, 10, into=successor) == 3
    connection.close()
    moved = harness.drain(successor)
    assert sorted(json.loads(body)["id"] for _, body in moved) == sorted(event["id"] for event in events)
    assert all("x-stepwise-error" not in (properties.headers or {}) for properties, _ in moved)
    assert harness.message_count(amqp.dead_letter_queue(old)) == 0


def test_malformed_events_are_dead_lettered_on_their_first_delivery_and_never_handled(harness):
    # A long first delay: a malformed event retried like a failure would not reach dead letters in time.
    settings = harness.settings("backbone", RETRY_DELAYS="60")
    database = Database(settings.mongo_url, settings.database)
    harness.start(Worker(settings=settings, database=database, subscriptions=[Subscription("strict", ["goal.#"], recording_handler(database))]))
    queue = queue_name(settings.queue_prefix, "strict")
    dead_before = EVENTS_DEAD_LETTERED.labels("strict", "malformed")._value.get()
    no_client = achieved("g-bad")
    del no_client["data"]["client_id"]
    unregistered = {**achieved("g-new"), "type": "stepwise.goal.exploded.v1"}
    for event in (no_client, unregistered):
        publish_raw(harness.amqp_url, harness.exchange, event)
    connection = amqp.connect(harness.amqp_url)
    connection.channel().basic_publish(harness.exchange, "goal.created", b"{not json", pika.BasicProperties(delivery_mode=2))
    connection.close()
    valid = achieved("g-ok")
    publish_raw(harness.amqp_url, harness.exchange, valid)

    wait_for(lambda: was_handled(database, "strict", valid["id"]), what="the valid event after them handled")
    wait_for(lambda: harness.message_count(amqp.dead_letter_queue(queue)) == 3, what="three dead letters")
    assert [doc["event_id"] for doc in database["effects"].find()] == [valid["id"]]
    assert harness.message_count(amqp.retry_queue(queue, 60)) == 0
    assert EVENTS_DEAD_LETTERED.labels("strict", "malformed")._value.get() - dead_before == 3
    connection = amqp.connect(harness.amqp_url)
    rows = list_dead(connection.channel(), queue, 10)
    connection.close()
    assert {row["attempts"] for row in rows} == {0}
    assert {row["reason"] for row in rows} == {"malformed"}
    errors = {row["id"]: row["error"] for row in rows}
    assert "client_id" in errors[no_client["id"]]
    assert "not a registered event type" in errors[unregistered["id"]]


def test_outbox_catches_up_after_a_broker_outage_without_loss_or_double_effect(harness):
    broker = urlparse(harness.amqp_url)
    proxy = TcpProxy(broker.hostname, broker.port or 5672)
    try:
        credentials = f"{broker.username}:{broker.password}@" if broker.username else ""
        proxied_url = broker._replace(netloc=f"{credentials}127.0.0.1:{proxy.port}").geturl()
        producer = harness.settings("producer", AMQP_URL=proxied_url)
        consumer = harness.settings("consumer")
        producer_db = Database(producer.mongo_url, producer.database)
        consumer_db = Database(consumer.mongo_url, consumer.database)
        harness.start(
            Worker(settings=consumer, database=consumer_db, subscriptions=[Subscription("recorder", ["goal.#"], recording_handler(consumer_db))])
        )
        harness.start(Worker(settings=producer, database=producer_db, outbox_collections=["records"]))

        def store(n: int) -> list[str]:
            ids = []
            for _ in range(n):
                event = achieved(goal_id=str(uuid.uuid4()))
                insert_once(producer_db["records"], with_events({"_id": event["subject"]}, [event], datetime.now(timezone.utc)))
                ids.append(event["id"])
            return ids

        before = store(5)
        wait_for(lambda: consumer_db["effects"].count_documents({}) == 5, what="events before the outage")

        proxy.cut()
        during = store(20)
        # The relay cannot reach the broker: the events wait in the outbox, none is lost.
        wait_for(lambda: pending_count(producer_db) == 20, what="a backlog during the outage")

        proxy.restore()
        wait_for(lambda: pending_count(producer_db) == 0, timeout=30, what="the relay to catch up")
        wait_for(lambda: consumer_db["effects"].count_documents({}) == 25, what="every event consumed")
        effects = [doc["event_id"] for doc in consumer_db["effects"].find()]
        assert sorted(effects) == sorted(before + during)
    finally:
        proxy.close()


CRASHING_CONSUMER = textwrap.dedent(
    """
    import time
    from shared.config import load_settings
    from shared.events.consumer import Consumer, Subscription
    from shared.mongo import Database
    settings = load_settings("victim")
    database = Database(settings.mongo_url, settings.database)

    def slow(event):
        database["started"].insert_one({"event_id": event["id"]})
        time.sleep(120)

    Consumer(amqp_url=settings.amqp_url, exchange=settings.exchange, queue_prefix=settings.queue_prefix,
             database=database, subscription=Subscription("victim", ["goal.#"], slow),
             retry_delays=settings.retry_delays).run()
    """
)


def test_a_consumer_killed_mid_message_gets_the_message_back(harness):
    settings = harness.settings("victim")
    database = Database(settings.mongo_url, settings.database)
    subscription = Subscription("victim", ["goal.#"], recording_handler(database))
    queue = harness.track_queue(queue_name(settings.queue_prefix, "victim"), settings.retry_delays)
    process = subprocess.Popen(
        [sys.executable, "-c", CRASHING_CONSUMER],
        env={**os.environ, **harness.env("victim"), "PYTHONPATH": os.getcwd()},
    )
    try:
        event = achieved()
        wait_for(lambda: _consumed(harness, queue), what="the victim to consume its queue")
        publish_raw(harness.amqp_url, harness.exchange, event)
        wait_for(lambda: database["started"].find_one({"event_id": event["id"]}), what="the handler to start")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()

    assert database["effects"].count_documents({}) == 0
    harness.start(Worker(settings=settings, database=database, subscriptions=[subscription]))
    wait_for(lambda: database["effects"].find_one({"event_id": event["id"]}), what="the message to come back")
    # The handled mark follows the handler's own write.
    wait_for(
        lambda: was_handled(database, "victim", event["id"]),
        what="the handled mark",
    )
    assert database["effects"].count_documents({"event_id": event["id"]}) == 1


def _consumed(harness, queue: str) -> bool:
    """Whether a consumer is attached to ``queue`` (it is bound before a consumer attaches)."""
    connection = amqp.connect(harness.amqp_url)
    try:
        return connection.channel().queue_declare(queue, passive=True).method.consumer_count > 0
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        connection.close()


def test_a_consumer_reconnects_after_losing_its_connection(harness):
    broker = urlparse(harness.amqp_url)
    proxy = TcpProxy(broker.hostname, broker.port or 5672)
    try:
        credentials = f"{broker.username}:{broker.password}@" if broker.username else ""
        proxied_url = broker._replace(netloc=f"{credentials}127.0.0.1:{proxy.port}").geturl()
        settings = harness.settings("backbone", AMQP_URL=proxied_url)
        database = Database(settings.mongo_url, settings.database)
        worker = harness.start(
            Worker(settings=settings, database=database, subscriptions=[Subscription("recorder", ["goal.#"], recording_handler(database))])
        )
        proxy.cut()
        wait_for(lambda: not worker.consumers[0].ready.is_set(), what="the consumer to notice the lost connection")
        during = achieved()
        publish_raw(harness.amqp_url, harness.exchange, during)  # the durable queue keeps it
        proxy.restore()
        wait_for(lambda: worker.consumers[0].ready.is_set(), timeout=20, what="the consumer to reconnect")
        wait_for(lambda: database["effects"].find_one({"event_id": during["id"]}), what="the event kept while away")
    finally:
        proxy.close()


def test_an_event_no_queue_is_bound_for_waits_and_arrives_once_one_is(harness):
    settings = harness.settings("producer")
    database = Database(settings.mongo_url, settings.database)
    clock = FixedClock(datetime.now(timezone.utc))
    relay = Relay(database, harness.amqp_url, harness.exchange, clock=clock)
    relay.ensure_indexes()
    event = achieved()
    insert_once(database["records"], with_events({"_id": "r-1"}, [event], clock.now()))
    assert relay.run_once() == 0  # nobody listens yet: kept, not dropped
    assert pending_count(database) == 1

    queue = harness.bind_queue(["goal.*"])  # e.g. the notifications worker starts for the first time
    assert relay.run_once() == 0  # not before its retry time
    clock.advance(seconds=UNROUTABLE_BACKOFF_SECONDS[0])
    assert relay.run_once() == 1
    assert pending_count(database) == 0
    assert [json.loads(body)["id"] for _, body in harness.drain(queue)] == [event["id"]]


def test_the_repair_sweep_publishes_a_change_whose_writer_stopped_before_journalling_it(harness):
    settings = harness.settings("producer")
    database = Database(settings.mongo_url, settings.database)
    queue = harness.bind_queue(["goal.*"])
    relay = Relay(database, harness.amqp_url, harness.exchange, collections=["records"])
    relay.ensure_indexes()
    written = datetime.now(timezone.utc) - timedelta(minutes=5)
    lost, normal = achieved("g-lost"), achieved("g-normal")
    # The record as the writer stored it, just before it stopped: its events were never journalled.
    database["records"].insert_one(
        {"_id": "r-lost", "outbox": {"events": [lost], "entry": new_entry_id(), "written_at": written, "key": "g-lost"},
         "outbox_slot": slot_of(written, SLOT_SECONDS)}
    )
    insert_once(database["records"], with_events({"_id": "r-normal"}, [normal], written))
    assert relay.repair() == 1  # the first sweep reads the windows of the last minutes
    relay.run_once()
    assert relay.repair(datetime.now(timezone.utc) + timedelta(minutes=10)) == 0  # nothing new later
    relay.run_once()
    ids = [json.loads(body)["id"] for _, body in harness.drain(queue)]
    assert sorted(ids) == sorted([lost["id"], normal["id"]])
    assert pending_count(database) == 0
