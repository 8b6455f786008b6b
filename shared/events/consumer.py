"""The consumer runner: how every Stepwise worker takes events off RabbitMQ.

For each message it:

1. parses the CloudEvent (a malformed one is dead-lettered at once: retrying cannot fix it);
2. skips it when the same event ``id`` was already handled by this consumer (at-least-once
   delivery means duplicates are normal);
3. runs the handler, then records the event id in ``processed_events`` (unique index), then
   acks. Ack comes last, so a consumer killed mid-message gets the message back;
4. on a handler error, republishes the message to the next delay queue (or, after the last
   retry, to the dead-letter queue), with confirms, and only then acks the original;
5. on a database outage, puts the message back without counting a try: the event is fine,
   the store is not, and burning retries would send good events to dead letters.

Handlers must make their own writes idempotent (deterministic ids, ``insert_once``), since a
crash between a handler's write and the processed mark runs the handler again.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence

import pika.exceptions
from pymongo.errors import ConnectionFailure

from shared.events import amqp
from shared.events.envelope import parse_event, routing_key
from shared.events.publisher import PublishError, Publisher, with_headers
from shared.logs import correlation_id
from shared.metrics import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED, EVENTS_RETRIED
from shared.mongo import Database, Index, insert_once

log = logging.getLogger(__name__)

PROCESSED = "processed_events"
ATTEMPT_HEADER = "x-stepwise-attempt"
ERROR_HEADER = "x-stepwise-error"
QUEUE_HEADER = "x-stepwise-queue"
FAILED_AT_HEADER = "x-stepwise-failed-at"
DATABASE_OUTAGE_PAUSE_SECONDS = 2.0

Handler = Callable[[dict], None]


@dataclass(frozen=True)
class Subscription:
    """A named consumer: its routing patterns and the handler for each event it receives."""

    consumer: str
    patterns: Sequence[str]
    handler: Handler


def processed_indexes() -> list[Index]:
    return [Index(PROCESSED, [("processed_at", 1)])]


def queue_name(prefix: str, consumer: str) -> str:
    return f"{prefix}.{consumer}"


def error_summary(exc: BaseException) -> str:
    """What the dead-letter header says about a failure: the exception's class and message, cut short.

    Handlers raise messages about ids and states, not health data; the cut keeps a stray payload
    from filling the header.
    """
    return f"{exc.__class__.__name__}: {exc}"[:500]


class Consumer:
    def __init__(
        self,
        *,
        amqp_url: str,
        exchange: str,
        queue_prefix: str,
        database: Database,
        subscriptions: Sequence[Subscription],
        prefetch: int = 32,
        retry_delays: Sequence[float] = (1.0, 5.0, 30.0),
    ):
        self.amqp_url = amqp_url
        self.exchange = exchange
        self.queue_prefix = queue_prefix
        self.database = database
        self.subscriptions = tuple(subscriptions)
        self.prefetch = prefetch
        self.retry_delays = tuple(retry_delays)
        self.ready = threading.Event()
        self._stop = threading.Event()

    def topology(self, subscription: Subscription) -> amqp.QueueTopology:
        return amqp.QueueTopology(
            queue_name(self.queue_prefix, subscription.consumer), subscription.patterns, self.retry_delays
        )

    def declare(self) -> None:
        """Declare every queue and binding once, e.g. before events are raised in a test."""
        connection = amqp.connect(self.amqp_url)
        try:
            channel = connection.channel()
            for subscription in self.subscriptions:
                self.topology(subscription).declare(channel, self.exchange)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Consume until stopped; reconnect with a growing pause when the connection is lost."""
        pause = 0.5
        while not self._stop.is_set():
            try:
                self._consume()
                pause = 0.5
            except (pika.exceptions.AMQPError, OSError, PublishError) as exc:
                self.ready.clear()
                log.warning("consumer connection lost, reconnecting: %s", exc.__class__.__name__)
                self._stop.wait(pause)
                pause = min(pause * 2, 10.0)

    def _consume(self) -> None:
        connection = amqp.connect(self.amqp_url)
        publisher = Publisher(self.amqp_url, self.exchange)
        try:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=self.prefetch)
            for subscription in self.subscriptions:
                topology = self.topology(subscription)
                topology.declare(channel, self.exchange)
                channel.basic_consume(
                    topology.queue,
                    on_message_callback=self._callback(subscription, topology.queue, publisher),
                )
            self.ready.set()
            while not self._stop.is_set():
                connection.process_data_events(time_limit=0.2)
        finally:
            self.ready.clear()
            publisher.close()
            if connection.is_open:
                try:
                    connection.close()
                except (pika.exceptions.AMQPError, OSError):
                    log.debug("closing a broken connection failed", exc_info=True)

    def _callback(self, subscription: Subscription, queue: str, publisher: Publisher):
        def on_message(channel, method, properties, body) -> None:
            self.handle(subscription, queue, publisher, channel, method, properties, body)

        return on_message

    def handle(self, subscription, queue, publisher, channel, method, properties, body) -> None:
        headers = dict(properties.headers or {})
        attempt = int(headers.get(ATTEMPT_HEADER, 0))
        try:
            event = parse_event(body)
        except ValueError as exc:
            log.error("malformed event dead-lettered", extra={"consumer": subscription.consumer})
            self._dead_letter(subscription, queue, publisher, properties, body, attempt, str(exc))
            channel.basic_ack(method.delivery_tag)
            return

        marker = f"{subscription.consumer}:{event['id']}"
        processed = self.database[PROCESSED]
        token = correlation_id.set(event.get("correlationid"))
        try:
            if processed.find_one({"_id": marker}, {"_id": 1}) is not None:
                EVENTS_CONSUMED.labels(subscription.consumer, "duplicate").inc()
                channel.basic_ack(method.delivery_tag)
                return
            subscription.handler(event)
            insert_once(
                processed,
                {
                    "_id": marker,
                    "consumer": subscription.consumer,
                    "event_id": event["id"],
                    "type": event["type"],
                    "tenant": event["tenantid"],
                    "processed_at": datetime.now(timezone.utc),
                },
            )
        except ConnectionFailure:
            log.warning("database unreachable; event put back", extra={"consumer": subscription.consumer})
            time.sleep(DATABASE_OUTAGE_PAUSE_SECONDS)
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        except Exception as exc:
            log.warning(
                "handler failed",
                extra={"consumer": subscription.consumer, "event_id": event["id"], "attempt": attempt + 1},
                exc_info=True,
            )
            self._retry_or_dead_letter(subscription, queue, publisher, properties, body, attempt, exc)
            channel.basic_ack(method.delivery_tag)
            return
        finally:
            correlation_id.reset(token)
        EVENTS_CONSUMED.labels(subscription.consumer, "handled").inc()
        log.debug("event handled", extra={"consumer": subscription.consumer, "type": routing_key(event)})
        channel.basic_ack(method.delivery_tag)

    def _retry_or_dead_letter(self, subscription, queue, publisher, properties, body, attempt, exc) -> None:
        if attempt < len(self.retry_delays):
            headers = dict(properties.headers or {}, **{ATTEMPT_HEADER: attempt + 1})
            delay = self.retry_delays[attempt]
            publisher.send("", amqp.retry_queue(queue, delay), body, with_headers(properties, headers))
            EVENTS_RETRIED.labels(subscription.consumer).inc()
        else:
            self._dead_letter(subscription, queue, publisher, properties, body, attempt, error_summary(exc))

    def _dead_letter(self, subscription, queue, publisher, properties, body, attempt, why: str) -> None:
        headers = dict(
            properties.headers or {},
            **{
                ATTEMPT_HEADER: attempt,
                ERROR_HEADER: why,
                QUEUE_HEADER: queue,
                FAILED_AT_HEADER: datetime.now(timezone.utc).isoformat(),
            },
        )
        publisher.send("", amqp.dead_letter_queue(queue), body, with_headers(properties, headers))
        EVENTS_DEAD_LETTERED.labels(subscription.consumer).inc()
