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

from dataclasses import dataclass
from typing import Sequence

import pika

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


def retry_queue_arguments(queue: str, delay_seconds: float) -> dict:
    """A delay queue's: its messages expire after the delay and go back to ``queue``."""
    return {
        "x-message-ttl": int(delay_seconds * 1000),
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": queue,
    }


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
                queue=retry_queue(self.queue, delay), durable=True, arguments=retry_queue_arguments(self.queue, delay)
            )
        channel.queue_declare(queue=dead_letter_queue(self.queue), durable=True)
