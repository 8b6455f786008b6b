"""RabbitMQ connections and the topology every consumer uses.

Topology per consumer (``<prefix>.<consumer>``):

- the main queue, durable, bound to the ``stepwise.events`` topic exchange by routing patterns;
- one delay queue per retry delay (``<queue>.retry.<ms>ms``) whose messages expire after that
  delay and are dead-lettered back to the main queue through the default exchange, so a retry
  reaches only the consumer that failed, not every subscriber. The delay is in the name because
  RabbitMQ refuses to redeclare a queue with another TTL: changing ``RETRY_DELAYS`` then simply
  uses new queues;
- a dead-letter queue (``<queue>.dead``) that ops inspect and replay with
  ``python -m shared.events.deadletters``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Sequence

import pika
import pika.exceptions

EXCHANGE_TYPE = "topic"


def parameters(url: str, *, heartbeat: int = 30) -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.heartbeat = heartbeat
    params.blocked_connection_timeout = 30
    params.connection_attempts = 1
    params.socket_timeout = 5
    return params


def connect(url: str, *, heartbeat: int = 30) -> pika.BlockingConnection:
    return pika.BlockingConnection(parameters(url, heartbeat=heartbeat))


def declare_exchange(channel, exchange: str) -> None:
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

    def declare(self, channel, exchange: str) -> None:
        declare_exchange(channel, exchange)
        channel.queue_declare(queue=self.queue, durable=True)
        for pattern in self.patterns:
            channel.queue_bind(queue=self.queue, exchange=exchange, routing_key=pattern)
        for delay in self.retry_delays:
            channel.queue_declare(
                queue=retry_queue(self.queue, delay),
                durable=True,
                arguments={
                    "x-message-ttl": int(delay * 1000),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": self.queue,
                },
            )
        channel.queue_declare(queue=dead_letter_queue(self.queue), durable=True)


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
