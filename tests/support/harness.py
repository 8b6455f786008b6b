"""One test's slice of the real servers: its own databases, exchange and queues, cleaned up after.

Without a broker (``amqp_url=None``, the service tier) it is the databases alone, and the
services' settings point at a port where nothing listens, so that anything that reached for
RabbitMQ would fail rather than quietly use the machine's."""
from __future__ import annotations

import threading
import uuid

import pika
import pika.exceptions
import pymongo

from werkzeug.serving import make_server

from shared import paging
from shared.config import Settings, load_settings
from shared.events import amqp
from shared.events.outbox import pending_count
from shared.mongo import Database
from scripts.demo import wait_for
from shared.worker import Worker


# How often a served app's loop checks whether it is shut down.
SERVER_POLL_SECONDS = 0.01
# Where a harness without a broker says RabbitMQ is: the discard port, where nothing listens.
NO_BROKER = "amqp://guest:guest@127.0.0.1:9/%2F"


class Harness:
    def __init__(self, mongo_url: str, amqp_url: str | None, jwt_secret: str):
        self.mongo_url = mongo_url
        self.amqp_url = amqp_url
        self.jwt_secret = jwt_secret
        self.unique = uuid.uuid4().hex[:10]
        self.exchange = f"stepwise.test.{self.unique}"
        self.queue_prefix = f"test.{self.unique}"
        self.workers: list[Worker] = []
        self.servers: list = []
        self.queues: set[str] = set()
        self.databases: set[str] = set()

    def env(self, service: str, **overrides: str) -> dict[str, str]:
        environ = {
            "MONGO_URL": self.mongo_url,
            "AMQP_URL": self.amqp_url or NO_BROKER,
            "JWT_SECRET": self.jwt_secret,
            "MONGO_DATABASE": self.database_name(service),
            "EVENTS_EXCHANGE": self.exchange,
            "QUEUE_PREFIX": self.queue_prefix,
            "OUTBOX_POLL_SECONDS": "0.05",
            "RETRY_DELAYS": "0.2,0.4",
            "LOG_LEVEL": "WARNING",
            # Workers serve metrics on 9100 by default; tests share the machine, so no fixed port.
            "WORKER_METRICS_PORT": "off",
        }
        environ.update(overrides)
        return environ

    def settings(self, service: str, options=(), **overrides: str) -> Settings:
        return load_settings(service, self.env(service, **overrides), options)

    def database_name(self, service: str) -> str:
        name = f"test_{self.unique}_{service}"
        self.databases.add(name)
        return name

    def track_queue(self, queue: str, retry_delays=()) -> str:
        for name in (queue, amqp.dead_letter_queue(queue), *(amqp.retry_queue(queue, d) for d in retry_delays)):
            self.queues.add(name)
        return queue

    def start(self, worker: Worker, wait_ready: bool = True) -> Worker:
        """Start a worker's threads; wait until its consumer is bound so no event is missed."""
        for consumer in worker.consumers:
            self.track_queue(consumer.topology.queue, consumer.retry_delays)
        worker.start()
        self.workers.append(worker)
        if wait_ready:
            assert worker.ready(15), "a consumer did not connect to RabbitMQ"
        return worker

    def serve(self, app) -> str:
        """Serve a Flask app over real HTTP on a free loopback port; returns its base URL."""
        server = make_server("127.0.0.1", 0, app, threaded=True)
        # shutdown() waits for the serving loop to look at its flag, which it does once per poll
        # interval (0.5 s by default: half a second of teardown for every test that serves).
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SERVER_POLL_SECONDS}, daemon=True).start()
        self.servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    def bind_queue(self, patterns: list[str], name: str | None = None) -> str:
        """A plain durable queue bound to this test's exchange, to watch what is published."""
        queue = self.track_queue(name or f"{self.queue_prefix}.watch.{uuid.uuid4().hex[:6]}")
        connection = amqp.connect(self.broker)
        channel = connection.channel()
        amqp.declare_exchange(channel, self.exchange)
        channel.queue_declare(queue, durable=True)
        for pattern in patterns:
            channel.queue_bind(queue, self.exchange, routing_key=pattern)
        connection.close()
        return queue

    def drain(self, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
        """Every message now in ``queue``, acknowledged."""
        connection = amqp.connect(self.broker)
        channel = connection.channel()
        messages: list[tuple[pika.BasicProperties, bytes]] = []
        while True:
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None or properties is None or body is None:  # all three, or none: empty
                break
            messages.append((properties, body))
        connection.close()
        return messages

    def relayed(self, service: str) -> bool:
        """Whether ``service``'s relay has published every event stored so far and the broker has
        confirmed them (its outbox holds nothing pending): from then on they are in every bound
        queue, so a queue holding nothing more means nothing more was raised."""
        database = Database(self.mongo_url, self.database_name(service))
        try:
            return pending_count(database) == 0
        finally:
            database.client.close()

    def wait_relayed(self, service: str, timeout: float = 15.0) -> None:
        wait_for(lambda: self.relayed(service), timeout=timeout, what=f"{service}'s outbox relayed")

    def message_count(self, queue: str) -> int:
        connection = amqp.connect(self.broker)
        try:
            return connection.channel().queue_declare(queue, passive=True).method.message_count
        finally:
            connection.close()

    @property
    def broker(self) -> str:
        """The broker's URL; a harness made without one (the service tier) refuses here."""
        if self.amqp_url is None:
            raise RuntimeError("this harness has no broker: tests that need one belong in tests/integration")
        return self.amqp_url

    def empty(self, service: str) -> None:
        """Delete every document in ``service``'s database, keeping its collections and indexes:
        the next test starts from nothing without paying for creating them again."""
        client: pymongo.MongoClient[dict] = pymongo.MongoClient(self.mongo_url, serverSelectionTimeoutMS=5000)
        try:
            database = client[self.database_name(service)]
            for collection in database.list_collection_names():
                database[collection].delete_many({})
        finally:
            client.close()
        # A list's periods are noted once per process (shared.paging): they were just deleted.
        paging._noted.clear()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc) -> None:
        for server in self.servers:
            server.shutdown()
        stoppers = [threading.Thread(target=worker.stop) for worker in self.workers]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join(15)
        if self.amqp_url is not None:
            self._delete_queues()
        client: pymongo.MongoClient[dict] = pymongo.MongoClient(self.mongo_url, serverSelectionTimeoutMS=5000)
        # Drop by name: listing databases can wait on other clients' writes in FerretDB.
        for name in self.databases:
            client.drop_database(name)
        client.close()

    def _delete_queues(self) -> None:
        try:
            connection = amqp.connect(self.broker)
        except Exception:
            return
        for queue in sorted(self.queues):
            channel = connection.channel()
            try:
                channel.queue_delete(queue)
            except pika.exceptions.ChannelClosedByBroker:
                pass
        try:
            connection.channel().exchange_delete(self.exchange)
        finally:
            connection.close()
