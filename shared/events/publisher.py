"""Publishing with publisher confirms, persistent messages and the ``mandatory`` flag.

``publish`` returns only once the broker has confirmed the message, so the outbox relay marks
an event sent only when it is safe in RabbitMQ. A message no queue is bound to comes back
(``mandatory``) and is reported as ``Unroutable``: the relay keeps such an event and tries
again later rather than letting it vanish, because a risk alert raised before the
notifications worker first declared its queue must still arrive.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Mapping

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from shared.events import amqp
from shared.events.envelope import CONTENT_TYPE, routing_key
from shared.metrics import EVENTS_PUBLISHED, EVENTS_UNROUTABLE

log = logging.getLogger(__name__)


class PublishError(Exception):
    """The broker did not take the message (connection lost, or nacked)."""


class Unroutable(Exception):
    """No queue is bound for the message's routing key."""


def message_properties(event: Mapping[str, Any], headers: Mapping[str, Any] | None = None) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type=CONTENT_TYPE,
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=event["id"],
        correlation_id=event.get("correlationid"),
        type=event["type"],
        timestamp=int(time.time()),
        headers=dict(headers or {}),
    )


def with_headers(properties: pika.BasicProperties, headers: Mapping[str, Any]) -> pika.BasicProperties:
    """A persistent copy of ``properties`` with new headers (for retries and dead letters)."""
    return pika.BasicProperties(
        content_type=properties.content_type,
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=properties.message_id,
        correlation_id=properties.correlation_id,
        type=properties.type,
        timestamp=properties.timestamp,
        headers=dict(headers),
    )


class Publisher:
    """A confirming publisher on its own connection, reopened after a failure.

    Not shared across threads: each thread that publishes owns one.
    """

    def __init__(self, url: str, exchange: str):
        self.url = url
        self.exchange = exchange
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def _open(self) -> BlockingChannel:
        if self._channel is None or not self._channel.is_open:
            self.close()
            self._connection = amqp.connect(self.url)
            channel = self._connection.channel()
            channel.confirm_delivery()
            amqp.declare_exchange(channel, self.exchange)
            self._channel = channel
        return self._channel

    def publish(self, event: Mapping[str, Any]) -> None:
        key = routing_key(event)
        self.send(self.exchange, key, json.dumps(event).encode(), message_properties(event), mandatory=True)
        EVENTS_PUBLISHED.labels(key).inc()

    def send(
        self, exchange: str, key: str, body: bytes, properties: pika.BasicProperties, *, mandatory: bool = True
    ) -> None:
        """Publish raw bytes and wait for the broker's confirm."""
        try:
            self._open().basic_publish(exchange, key, body, properties, mandatory=mandatory)
        except pika.exceptions.UnroutableError:
            EVENTS_UNROUTABLE.labels(key).inc()
            raise Unroutable(f"no queue is bound for {key!r} on {exchange or 'the default exchange'!r}") from None
        except pika.exceptions.NackError:
            raise PublishError(f"the broker refused a message for {key!r}") from None
        except (pika.exceptions.AMQPError, OSError) as exc:
            self.close()
            raise PublishError(f"could not publish to RabbitMQ: {exc.__class__.__name__}") from exc

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (pika.exceptions.AMQPError, OSError):
                log.debug("closing a broken connection failed", exc_info=True)
