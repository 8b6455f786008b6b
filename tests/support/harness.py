"""One test's slice of the real servers: its own databases, exchange and queues, cleaned up after."""
from __future__ import annotations

import threading
import uuid

import pika
import pika.exceptions
import pymongo

from werkzeug.serving import make_server

from shared.config import Settings, load_settings
from shared.events import amqp
from scripts.demo import wait_for  # noqa: F401  (one polling helper, for the demo and the tests)
from shared.worker import Worker


class Harness:
    def __init__(self, mongo_url: str, amqp_url: str, jwt_secret: str):
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
            "AMQP_URL": self.amqp_url,
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
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    def bind_queue(self, patterns: list[str], name: str | None = None) -> str:
        """A plain durable queue bound to this test's exchange, to watch what is published."""
        queue = self.track_queue(name or f"{self.queue_prefix}.watch.{uuid.uuid4().hex[:6]}")
        connection = amqp.connect(self.amqp_url)
        channel = connection.channel()
        amqp.declare_exchange(channel, self.exchange)
        channel.queue_declare(queue, durable=True)
        for pattern in patterns:
            channel.queue_bind(queue, self.exchange, routing_key=pattern)
        connection.close()
        return queue

    def drain(self, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
        """Every message now in ``queue``, acknowledged."""
        connection = amqp.connect(self.amqp_url)
        channel = connection.channel()
        messages: list[tuple[pika.BasicProperties, bytes]] = []
        while True:
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None or properties is None or body is None:  # all three, or none: empty
                break
            messages.append((properties, body))
        connection.close()
        return messages

    def message_count(self, queue: str) -> int:
        connection = amqp.connect(self.amqp_url)
        try:
            return connection.channel().queue_declare(queue, passive=True).method.message_count
        finally:
            connection.close()

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
        self._delete_queues()
        client: pymongo.MongoClient[dict] = pymongo.MongoClient(self.mongo_url, serverSelectionTimeoutMS=5000)
        # Drop by name: listing databases can wait on other clients' writes in FerretDB.
        for name in self.databases:
            client.drop_database(name)
        client.close()

    def _delete_queues(self) -> None:
        try:
            connection = amqp.connect(self.amqp_url)
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
