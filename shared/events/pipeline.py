"""Publishing with many confirms in flight, on pika's asynchronous connection.

RabbitMQ confirms a message once it is safe in every queue it was routed to. Waiting for each
confirm before publishing the next caps a publisher at one round trip per message; keeping many
messages outstanding and settling them as confirms arrive is RabbitMQ's own guidance for
throughput (its tutorial on publisher confirms, "handling publisher confirms asynchronously"):
track each message's delivery tag, and on ``basic.ack``/``basic.nack`` settle that tag, or every
tag up to it when ``multiple`` is set.

``ConfirmPipeline.run`` owns a ``SelectConnection`` and its I/O loop on the calling thread (pika
connections are not thread-safe) and calls back on that thread:

- ``tick()`` every ``tick_seconds``, where the caller publishes (``publish``) what it has;
- ``settled(outcomes)`` as confirms arrive: each outcome is ``(token, event, result)`` with result
  ``ACKED`` (safe in the broker), ``NACKED`` (the broker refused it: publish it again later) or
  ``RETURNED`` (no queue is bound for its routing key: the broker returns a ``mandatory`` message
  before it acks it).

When the connection is lost every outstanding message is neither acked nor dropped: the caller
still holds it (it was never marked sent) and publishes it again on the next connection, so a
message is never reported safe unless the broker confirmed it. ``run`` returns when ``stop`` is
set (after waiting up to ``drain_seconds`` for outstanding confirms) and raises ``PublishError``
when the connection fails.

With several nodes in ``url`` (``AMQP_URL``, comma-separated), a ``SelectConnection`` takes one
node's parameters, so each ``run`` connects to one node, and after a failed connection the next
``run`` tries the next node.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Mapping, Sequence

import pika
import pika.exceptions
from opentelemetry.trace import Span, SpanKind
from pika.channel import Channel
from pika.frame import Method
from pika.spec import Basic, BasicProperties, Confirm

from shared import tracing
from shared.events import amqp
from shared.events.envelope import routing_key
from shared.events.publisher import PublishError, message_properties
from shared.metrics import EVENTS_PUBLISHED, EVENTS_UNROUTABLE

log = logging.getLogger(__name__)

ACKED = "acked"
NACKED = "nacked"
RETURNED = "returned"

Outcome = tuple[Any, Mapping[str, Any], str]


class ConfirmPipeline:
    def __init__(self, url: str, exchange: str, *, drain_seconds: float = 5.0):
        self.nodes = amqp.node_parameters(url)
        self._node = 0
        self.exchange = exchange
        self.drain_seconds = drain_seconds
        self._connection: pika.SelectConnection | None = None
        self._channel: Channel | None = None
        self._outstanding: OrderedDict[int, tuple[Any, Mapping[str, Any], Span | None]] = OrderedDict()
        self._returned: set[str] = set()
        self._next_tag = 1
        self._error: BaseException | None = None
        self._stopping_since: float | None = None

    @property
    def outstanding(self) -> int:
        """Messages published on this connection and not yet confirmed."""
        return len(self._outstanding)

    @property
    def ready(self) -> bool:
        return self._channel is not None and self._channel.is_open and self._stopping_since is None

    def publish(self, token: Any, event: Mapping[str, Any]) -> None:
        """Publish ``event`` (persistent, mandatory); its outcome comes back with ``token``.

        Traced as a span in the event's own trace (its ``traceparent``), from the publish to the
        broker's confirm."""
        key = routing_key(event)
        span = tracing.start_span(
            f"publish {key}", parent=event, kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "rabbitmq", "messaging.operation.type": "send",
                        "messaging.destination.name": self.exchange, "messaging.rabbitmq.destination.routing_key": key,
                        "messaging.message.id": event["id"]},
        )
        if self._channel is None:
            raise PublishError("not connected: publish only from the tick of a running pipeline")
        self._channel.basic_publish(
            self.exchange, key, json.dumps(event).encode(), message_properties(event), mandatory=True
        )
        self._outstanding[self._next_tag] = (token, event, span)
        self._next_tag += 1

    def run(
        self,
        tick: Callable[[], None],
        settled: Callable[[Sequence[Outcome]], None],
        stop: threading.Event,
        tick_seconds: float,
    ) -> None:
        self._tick, self._settled, self._stop, self._tick_seconds = tick, settled, stop, tick_seconds
        self._outstanding.clear()
        self._returned.clear()
        self._next_tag = 1
        self._error = None
        self._stopping_since = None
        try:
            self._connection = pika.SelectConnection(
                self.nodes[self._node],
                on_open_callback=self._on_open,
                on_open_error_callback=self._on_open_error,
                on_close_callback=self._on_closed,
            )
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise PublishError(f"could not connect to RabbitMQ: {exc.__class__.__name__}") from exc
        self._connection.ioloop.start()
        self._channel = None
        for _token, _event, span in self._outstanding.values():
            tracing.end_span(span, "unconfirmed")  # published again on the next connection
        error = self._error
        if error is None:
            return
        if isinstance(error, (pika.exceptions.AMQPError, OSError)):
            raise PublishError(f"RabbitMQ connection lost: {error.__class__.__name__}") from error
        raise error  # the caller's own failure (e.g. its database), from tick or settled

    # -- connection and channel ------------------------------------------------------------

    @property
    def _live(self) -> pika.SelectConnection:
        """The connection ``run`` opened: every callback below runs inside it."""
        if self._connection is None:
            raise RuntimeError("the pipeline's callbacks run only while run() holds a connection")
        return self._connection

    def _on_open(self, connection: pika.SelectConnection) -> None:
        connection.channel(on_open_callback=self._on_channel)

    def _on_open_error(self, connection: pika.SelectConnection, error: BaseException | str) -> None:
        self._node = (self._node + 1) % len(self.nodes)
        self._error = error if isinstance(error, BaseException) else pika.exceptions.AMQPConnectionError(str(error))
        connection.ioloop.stop()

    def _on_closed(self, connection: pika.SelectConnection, reason: BaseException | str) -> None:
        if self._stopping_since is None and self._error is None:
            self._error = reason if isinstance(reason, BaseException) else pika.exceptions.AMQPError(str(reason))
        connection.ioloop.stop()

    def _on_channel(self, channel: Channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.exchange_declare(
            exchange=self.exchange, exchange_type=amqp.EXCHANGE_TYPE, durable=True,
            callback=lambda _frame: channel.confirm_delivery(self._on_confirm, callback=self._on_confirm_mode),
        )

    def _on_confirm_mode(self, _frame: Method[Confirm.SelectOk]) -> None:
        self._live.ioloop.call_later(0, self._on_tick)

    def _on_channel_closed(self, _channel: Channel, reason: BaseException | str) -> None:
        if self._stopping_since is None and self._error is None:
            self._error = reason if isinstance(reason, BaseException) else pika.exceptions.AMQPError(str(reason))
        if self._live.is_open:
            self._live.close()

    # -- confirms --------------------------------------------------------------------------

    def _on_return(self, _channel: Channel, _method: Basic.Return, properties: BasicProperties, _body: bytes) -> None:
        # Sent before the ack of the same message. Every event is published with its id as the
        # message id (message_properties); a message without one is not ours to settle.
        if properties.message_id is not None:
            self._returned.add(properties.message_id)

    def _on_confirm(self, frame: Method[Basic.Ack | Basic.Nack]) -> None:
        method = frame.method
        acked = isinstance(method, Basic.Ack)
        tags = [tag for tag in self._outstanding if tag <= method.delivery_tag] if method.multiple else [method.delivery_tag]
        outcomes: list[Outcome] = []
        for tag in tags:
            found = self._outstanding.pop(tag, None)
            if found is None:
                continue
            token, event, span = found
            key = routing_key(event)
            if event["id"] in self._returned:
                self._returned.discard(event["id"])
                EVENTS_UNROUTABLE.labels(key).inc()
                result = RETURNED
            elif acked:
                EVENTS_PUBLISHED.labels(key).inc()
                result = ACKED
            else:
                result = NACKED
            outcomes.append((token, event, result))
            tracing.end_span(span, None if result == ACKED else result)
        if outcomes:
            self._call(self._settled, outcomes)

    # -- the caller's rhythm ---------------------------------------------------------------

    def _on_tick(self) -> None:
        if self._channel is None or not self._channel.is_open:
            return
        if self._stop.is_set():
            if self._stopping_since is None:
                self._stopping_since = time.monotonic()
            if not self._outstanding or time.monotonic() - self._stopping_since > self.drain_seconds:
                self._live.close()
                return
        elif not self._call(self._tick):
            return
        self._live.ioloop.call_later(self._tick_seconds, self._on_tick)

    def _call(self, callback: Callable[..., None], *args: Any) -> bool:
        """Run a caller's callback; if it fails (its database, say), end this connection and let
        ``run`` raise the failure. Outstanding messages stay the caller's, to publish again."""
        try:
            callback(*args)
            return True
        except Exception as exc:
            if self._error is None:
                self._error = exc
            if self._live.is_open:
                self._live.close()
            return False
