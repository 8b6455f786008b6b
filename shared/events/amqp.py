"""RabbitMQ connections and the topology every consumer uses.

Topology per consumer (``<prefix>.<consumer>``), every queue a **quorum queue** (RabbitMQ's
replicated, Raft-based type: a queue survives the loss of a minority of the cluster's nodes, and
a message is confirmed to the publisher only once a majority stores it):

- the main queue, bound to the ``stepwise.events`` topic exchange by routing patterns. Should the
  broker itself give up on a message (RabbitMQ 4 dead-letters or drops a quorum queue's message
  after 20 redeliveries), it goes to the dead-letter queue, not away;
- one delay queue per retry delay (``<queue>.retry.<ms>ms``) whose messages expire after that
  delay and are dead-lettered back to the main queue through the default exchange, so a retry
  reaches only the consumer that failed, not every subscriber. The delay is in the name because
  RabbitMQ refuses to redeclare a queue with another TTL: changing ``RETRY_DELAYS`` then simply
  uses new queues. Its expired messages are dead-lettered *at least once* (RabbitMQ keeps a
  message until the main queue has confirmed it), not the quorum queue's default at most once;
- a dead-letter queue (``<queue>.dead``) that ops inspect and replay with
  ``python -m shared.events.deadletters``.

A queue's type cannot change in place: a broker that already holds classic queues of these names
refuses the declaration (``PRECONDITION_FAILED``); docs/DEPLOY.md describes the migration.

A connection may name several nodes of a cluster: ``AMQP_URL`` holds one URL per node, separated
by commas, and a client connects to the first that answers (``node_parameters``).
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Sequence

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

EXCHANGE_TYPE = "topic"
QUORUM = {"x-queue-type": "quorum"}
# At-least-once dead-lettering out of a quorum queue needs the queue to refuse publishes when full
# rather than drop its oldest messages (RabbitMQ's "Dead Lettering" guide, quorum queues).
AT_LEAST_ONCE = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
# Between two URLs: a comma before the next scheme (a password may itself hold a comma); a
# trailing comma leaves an empty URL, which the configuration check refuses.
_NODE_SEPARATOR = re.compile(r",\s*(?=amqps?://|$)")


def node_urls(urls: str) -> list[str]:
    """The URLs of ``AMQP_URL``: one per node, comma-separated."""
    return [url.strip() for url in _NODE_SEPARATOR.split(urls.strip())]


def node_parameters(urls: str, *, heartbeat: int = 30) -> list[pika.URLParameters]:
    """Connection parameters for each node named in ``urls``, in order."""
    nodes = []
    for url in node_urls(urls):
        params = pika.URLParameters(url)
        params.heartbeat = heartbeat
        params.blocked_connection_timeout = 30
        params.connection_attempts = 1
        params.socket_timeout = 5
        nodes.append(params)
    return nodes


def connect(urls: str, *, heartbeat: int = 30) -> pika.BlockingConnection:
    """A connection to the first node of ``urls`` that answers (pika tries them in order)."""
    return pika.BlockingConnection(node_parameters(urls, heartbeat=heartbeat))


def declare_exchange(channel: BlockingChannel, exchange: str) -> None:
    channel.exchange_declare(exchange=exchange, exchange_type=EXCHANGE_TYPE, durable=True)


def retry_queue(queue: str, delay_seconds: float) -> str:
    return f"{queue}.retry.{round(delay_seconds * 1000)}ms"


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dead"


@dataclass(frozen=True)
class QueueTopology:
    queue: str
    patterns: Sequence[str]
    retry_delays: Sequence[float]

    def queues(self) -> list[tuple[str, dict[str, Any]]]:
        """Every queue of the consumer, with its declaration arguments: main, delays, dead letters."""
        main = (self.queue, {**QUORUM, **AT_LEAST_ONCE, "x-dead-letter-exchange": "",
                             "x-dead-letter-routing-key": dead_letter_queue(self.queue)})
        delays = [
            (retry_queue(self.queue, delay), {**QUORUM, **AT_LEAST_ONCE, "x-message-ttl": int(delay * 1000),
                                              "x-dead-letter-exchange": "", "x-dead-letter-routing-key": self.queue})
            for delay in self.retry_delays
        ]
        return [main, *delays, (dead_letter_queue(self.queue), dict(QUORUM))]

    def declare(self, channel: BlockingChannel, exchange: str) -> None:
        declare_exchange(channel, exchange)
        for name, arguments in self.queues():
            channel.queue_declare(queue=name, durable=True, arguments=arguments)
        for pattern in self.patterns:
            channel.queue_bind(queue=self.queue, exchange=exchange, routing_key=pattern)


@dataclass(frozen=True)
class QueueState:
    queue: str
    messages: int  # ready to be delivered (not those delivered and not yet acknowledged)
    consumers: int


class QueueInspector:
    """Reads queues' message and consumer counts from the broker (a passive ``queue.declare``
    each), on one connection kept between reads, so a scrape costs one round trip per queue.

    A lost connection is opened again once per read; a queue that does not exist (yet) is left
    out. Reads are serialised: a pika connection is not thread-safe, and scrapes may overlap.
    """

    def __init__(self, url: str, queues: Sequence[str]):
        self.url = url
        self.queues = tuple(queues)
        self._connection: pika.BlockingConnection | None = None
        self._lock = threading.Lock()

    def read(self) -> list[QueueState]:
        with self._lock:
            try:
                return self._read()
            except (pika.exceptions.AMQPConnectionError, pika.exceptions.ChannelWrongStateError, OSError):
                self.close()
                return self._read()

    def _read(self) -> list[QueueState]:
        if self._connection is None or not self._connection.is_open:
            self._connection = connect(self.url)
        states = []
        channel = self._connection.channel()
        for queue in self.queues:
            try:
                declared = channel.queue_declare(queue, passive=True).method
            except pika.exceptions.ChannelClosedByBroker:
                channel = self._connection.channel()  # the broker closes the channel on a missing queue
                continue
            states.append(QueueState(queue, declared.message_count, declared.consumer_count))
        channel.close()
        return states

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (pika.exceptions.AMQPError, OSError):
                pass
