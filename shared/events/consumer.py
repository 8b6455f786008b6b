"""The consumer runner: how every Stepwise worker takes events off RabbitMQ.

For each message it:

1. parses the CloudEvent and checks its data against the registry's definition of its type
   (``parse_event``). A malformed event (not JSON, not a CloudEvent, an unregistered type, data
   its definition refuses) is dead-lettered on its first delivery, since retrying cannot fix it:
   its dead letter says ``x-stepwise-reason: malformed`` and what is wrong, it is counted
   (``stepwise_events_dead_lettered_total{reason="malformed"}``) and logged by message id, never
   with its body, and the handler never sees it. So a handler may read every field the registry
   defines as required without checking it;
2. records that it received the event id (an insert under the unique ``_id``), and skips the
   event when an earlier delivery already finished it (at-least-once delivery means duplicates
   are normal);
3. runs the handler, then records the event as handled, then acks. Ack comes last, so a
   consumer killed mid-message gets the message back, and since that delivery never recorded
   "handled", the handler runs again;
4. on a handler error, republishes the message to the next delay queue (or, after the last
   retry, to the dead-letter queue, ``x-stepwise-reason: failed``), with confirms, and only then
   acks the original;
5. on a database outage, puts the message back without counting a try: the event is fine,
   the store is not, and burning retries would send good events to dead letters.

Messages are taken a batch at a time (up to the prefetch): the marks of a batch are one insert
each way, and the batch is acknowledged with one ``basic.ack`` (``multiple``) once every message
in it is settled. Marks expire after ``BOOKKEEPING_RETENTION_DAYS`` (``shared.retention``).

Each subscription has its own queue, connection and thread (``Worker`` runs one ``Consumer`` per
subscription), so a slow or busy subscription never holds up another: risk alerts never wait
behind routine notifications.

Handlers must make their own writes idempotent (deterministic ids, ``insert_once``), since a
crash between a handler's write and the processed mark runs the handler again.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Sequence

import pika
import pika.exceptions
from opentelemetry.trace import SpanKind
from pymongo.errors import BulkWriteError, ConnectionFailure, PyMongoError

from shared import retention, tracing
from shared.clock import parse_rfc3339
from shared.events import amqp
from shared.events.envelope import MalformedEvent, parse_event, routing_key
from shared.events.publisher import PublishError, Publisher, with_headers
from shared.logs import event_log_context
from shared.metrics import (
    CONSUMER_LAG,
    EVENT_AGE,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_RETRIED,
    HANDLER_DURATION,
)
from shared.mongo import Database, Index

log = logging.getLogger(__name__)

PROCESSED = "processed_events"
ATTEMPT_HEADER = "x-stepwise-attempt"
ERROR_HEADER = "x-stepwise-error"
# Why a message is in dead letters: MALFORMED (on its first delivery) or FAILED (its handler, every try).
REASON_HEADER = "x-stepwise-reason"
MALFORMED = "malformed"
FAILED = "failed"
QUEUE_HEADER = "x-stepwise-queue"
FAILED_AT_HEADER = "x-stepwise-failed-at"
DATABASE_OUTAGE_PAUSE_SECONDS = 2.0
DUPLICATE_KEY = 11000
ACK = "ack"
REQUEUE = "requeue"
RECEIVED = "received"
HANDLED = "handled"

Handler = Callable[[dict], None]


@dataclass(frozen=True)
class Subscription:
    """A named consumer: its routing patterns and the handler for each event it receives."""

    consumer: str
    patterns: Sequence[str]
    handler: Handler


def processed_indexes() -> list[Index]:
    return retention.indexes(PROCESSED)


def queue_name(prefix: str, consumer: str) -> str:
    return f"{prefix}.{consumer}"


def error_summary(exc: BaseException) -> str:
    """What the dead-letter header says about a failure: the exception's class and message, cut short.

    Handlers raise messages about ids and states, not health data; the cut keeps a stray payload
    from filling the header.
    """
    return f"{exc.__class__.__name__}: {exc}"[:500]


class Consumer:
    """Takes one subscription's events off its own queue, on its own connection and thread, so
    that no subscription's events ever wait behind another's (risk alerts have their own)."""

    def __init__(
        self,
        *,
        amqp_url: str,
        exchange: str,
        queue_prefix: str,
        database: Database,
        subscription: Subscription,
        prefetch: int = 32,
        retry_delays: Sequence[float] = (1.0, 5.0, 30.0),
        marks_kept_for: timedelta = timedelta(days=14),
    ):
        self.amqp_url = amqp_url
        self.exchange = exchange
        self.queue_prefix = queue_prefix
        self.database = database
        self.subscription = subscription
        self.prefetch = prefetch
        self.retry_delays = tuple(retry_delays)
        self.marks_kept_for = marks_kept_for
        self.ready = threading.Event()
        self._stop = threading.Event()

    @property
    def topology(self) -> amqp.QueueTopology:
        return amqp.QueueTopology(queue_name(self.queue_prefix, self.subscription.consumer),
                                  self.subscription.patterns, self.retry_delays)

    def declare(self) -> None:
        """Declare the queues and bindings, e.g. before events are raised in a test."""
        connection = amqp.connect(self.amqp_url)
        try:
            self.topology.declare(connection.channel(), self.exchange)
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
            except (pika.exceptions.AMQPError, OSError, PublishError, PyMongoError) as exc:
                # Unacknowledged messages go back to the queue with the connection.
                self.ready.clear()
                log.warning("consumer stopped, reconnecting: %s", exc.__class__.__name__)
                self._stop.wait(pause)
                pause = min(pause * 2, 10.0)

    def _consume(self) -> None:
        connection = amqp.connect(self.amqp_url)
        publisher = Publisher(self.amqp_url, self.exchange)
        batch: list[_Delivery] = []
        try:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=self.prefetch)
            topology = self.topology
            topology.declare(channel, self.exchange)
            channel.basic_consume(topology.queue, on_message_callback=_collector(batch, self.subscription, topology.queue))
            self.ready.set()
            while not self._stop.is_set():
                # Take what has arrived (up to the prefetch) and handle it as one batch, so the
                # idempotency marks of a batch cost one database round trip, not one per event.
                connection.process_data_events(time_limit=0 if batch else 0.2)
                if batch:
                    self.handle_batch(batch, publisher)
                    batch.clear()
                else:
                    CONSUMER_LAG.labels(self.subscription.consumer).set(0)
        finally:
            self.ready.clear()
            publisher.close()
            if connection.is_open:
                try:
                    connection.close()
                except (pika.exceptions.AMQPError, OSError):
                    log.debug("closing a broken connection failed", exc_info=True)

    def handle_batch(self, batch: Sequence["_Delivery"], publisher: Publisher) -> None:
        """Handle deliveries in order, then acknowledge them together: none is acked before its
        handler's work and its handled mark are stored."""
        try:
            self._handle(batch, publisher)
        finally:
            _settle(batch)

    def _handle(self, batch: Sequence["_Delivery"], publisher: Publisher) -> None:
        parsed: list[_Delivery] = []
        for delivery in batch:
            try:
                delivery.event = parse_event(delivery.body)
                parsed.append(delivery)
            except MalformedEvent as exc:
                log.error("malformed event dead-lettered",
                          extra={"consumer": self.subscription.consumer, "message_id": delivery.properties.message_id,
                                 "problem": error_summary(exc)})
                self._dead_letter(delivery, publisher, MALFORMED, error_summary(exc))
                delivery.outcome = ACK
        if not parsed:
            return
        ages = [age for age in (event_age(d.event) for d in parsed) if age is not None]
        CONSUMER_LAG.labels(self.subscription.consumer).set(max([0.0, *ages]))
        processed = self.database[PROCESSED]
        batch_id = uuid.uuid4().hex
        try:
            # Inserts, not lookups: one round trip for the batch, and the unique id decides.
            repeats = _insert_marks(processed, [self._received_mark(d, batch_id) for d in parsed])
            for index in repeats:
                parsed[index].repeat = True
            fresh = [delivery for delivery in parsed if not delivery.repeat or not _finished(processed, delivery.marker)]
        except ConnectionFailure:
            self._put_back(parsed)
            return
        for delivery in parsed:
            if delivery not in fresh:
                EVENTS_CONSUMED.labels(self.subscription.consumer, "duplicate").inc()
                delivery.outcome = ACK
        handled: list[_Delivery] = []
        for position, delivery in enumerate(fresh):
            _observe_age(self.subscription.consumer, delivery.event)
            started = time.perf_counter()
            try:
                with self._handling(delivery):
                    if self._run_handler(delivery, publisher):
                        handled.append(delivery)
            except ConnectionFailure:
                self._finish(handled, batch_id)
                self._put_back(fresh[position:])
                return
            finally:
                HANDLER_DURATION.labels(self.subscription.consumer, delivery.event["type"]).observe(
                    time.perf_counter() - started)
        self._finish(handled, batch_id)

    @contextmanager
    def _handling(self, delivery: "_Delivery") -> Iterator[None]:
        """The event's correlation id and trace (a span, a child of the event's context) while it
        is handled: what the handler logs, stores and raises carries them."""
        event = delivery.event
        with event_log_context(event), tracing.span(
            f"process {routing_key(event)}", parent=event, kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "rabbitmq", "messaging.operation.type": "process",
                        "messaging.destination.name": delivery.queue, "messaging.consumer.group.name": self.subscription.consumer,
                        "messaging.message.id": event["id"], "stepwise.attempt": delivery.attempt},
        ):
            yield

    def _run_handler(self, delivery: "_Delivery", publisher: Publisher) -> bool:
        """Whether the handler ran through; when it failed (not for a database outage, which is
        raised), the event is on its way to a retry or to dead letters."""
        try:
            self.subscription.handler(delivery.event)
            return True
        except ConnectionFailure:
            raise
        except Exception as exc:
            tracing.fail_current(exc)
            log.warning(
                "handler failed",
                extra={
                    "consumer": self.subscription.consumer,
                    "event_id": delivery.event["id"],
                    "attempt": delivery.attempt + 1,
                },
                exc_info=True,
            )
            self._retry_or_dead_letter(delivery, publisher, exc)
            delivery.outcome = ACK
            return False

    def _finish(self, handled: Sequence["_Delivery"], batch_id: str) -> None:
        """Record the batch's handled events in one mark (and, for an event first received in an
        earlier batch that never finished, a mark of its own), then let them be acknowledged."""
        if not handled:
            return
        marks = [self._handled_mark(batch_id, handled)]
        marks += [self._handled_again_mark(d) for d in handled if d.repeat]
        try:
            _insert_marks(self.database[PROCESSED], marks)
        except ConnectionFailure:
            # The work is stored; without the mark a redelivery runs the (idempotent) handler again.
            self._put_back(handled)
            return
        for delivery in handled:
            EVENTS_CONSUMED.labels(self.subscription.consumer, "handled").inc()
            delivery.outcome = ACK

    def _put_back(self, deliveries: Sequence["_Delivery"]) -> None:
        """The database is unreachable: return the messages without counting a try."""
        log.warning("database unreachable; events put back", extra={"count": len(deliveries)})
        time.sleep(DATABASE_OUTAGE_PAUSE_SECONDS)
        for delivery in deliveries:
            delivery.outcome = REQUEUE

    def _stamp(self) -> dict:
        now = datetime.now(timezone.utc)
        return {"consumer": self.subscription.consumer, "at": now, **retention.expiry(now, self.marks_kept_for)}

    def _received_mark(self, delivery: "_Delivery", batch_id: str) -> dict:
        """That this consumer received an event (the unique ``_id`` is the claim), in which batch."""
        event = delivery.event
        return {"_id": delivery.marker, "state": RECEIVED, "batch": batch_id, "event_id": event["id"],
                "type": event["type"], "tenant": event["tenantid"], **self._stamp()}

    def _handled_mark(self, batch_id: str, handled: Sequence["_Delivery"]) -> dict:
        """That a batch's events were handled: one insert for the batch. The list is read, never
        queried (an index on a list is refused by FerretDB once it is long: docs/STORAGE.md)."""
        return {"_id": _batch_mark_id(self.subscription.consumer, batch_id), "state": HANDLED,
                "handled": [delivery.marker for delivery in handled], **self._stamp()}

    def _handled_again_mark(self, delivery: "_Delivery") -> dict:
        return {"_id": f"{delivery.marker}:done", "state": HANDLED, "event_id": delivery.event["id"], **self._stamp()}

    def _retry_or_dead_letter(self, delivery: "_Delivery", publisher: Publisher, exc: BaseException) -> None:
        if delivery.attempt < len(self.retry_delays):
            headers = dict(delivery.properties.headers or {}, **{ATTEMPT_HEADER: delivery.attempt + 1})
            delay = self.retry_delays[delivery.attempt]
            queue = amqp.retry_queue(delivery.queue, delay)
            publisher.send("", queue, delivery.body, with_headers(delivery.properties, headers))
            EVENTS_RETRIED.labels(self.subscription.consumer).inc()
        else:
            self._dead_letter(delivery, publisher, FAILED, error_summary(exc))

    def _dead_letter(self, delivery: "_Delivery", publisher: Publisher, reason: str, why: str) -> None:
        headers = dict(
            delivery.properties.headers or {},
            **{
                ATTEMPT_HEADER: delivery.attempt,
                REASON_HEADER: reason,
                ERROR_HEADER: why,
                QUEUE_HEADER: delivery.queue,
                FAILED_AT_HEADER: datetime.now(timezone.utc).isoformat(),
            },
        )
        publisher.send("", amqp.dead_letter_queue(delivery.queue), delivery.body, with_headers(delivery.properties, headers))
        EVENTS_DEAD_LETTERED.labels(self.subscription.consumer, reason).inc()


@dataclass
class _Delivery:
    subscription: Subscription
    queue: str
    channel: Any
    method: Any
    properties: pika.BasicProperties
    body: bytes
    event: dict = field(default_factory=dict)
    outcome: str | None = None  # ACK or REQUEUE once decided
    repeat: bool = False  # received before (its received mark existed)

    @property
    def attempt(self) -> int:
        return int((self.properties.headers or {}).get(ATTEMPT_HEADER, 0))

    @property
    def marker(self) -> str:
        return f"{self.subscription.consumer}:{self.event['id']}"



def _settle(batch: Sequence[_Delivery]) -> None:
    """Acknowledge a batch: one ack with ``multiple`` for the run of acked deliveries it starts
    with, then each of the rest; a delivery left undecided (an error escaped) goes back to the
    queue."""
    run = 0
    while run < len(batch) and batch[run].outcome == ACK:
        run += 1
    if run:
        batch[run - 1].channel.basic_ack(batch[run - 1].method.delivery_tag, multiple=True)
    for delivery in batch[run:]:
        if delivery.outcome == ACK:
            delivery.channel.basic_ack(delivery.method.delivery_tag)
        else:
            delivery.channel.basic_nack(delivery.method.delivery_tag, requeue=True)


def _collector(batch: list[_Delivery], subscription: Subscription, queue: str):
    def collect(channel, method, properties, body) -> None:
        batch.append(_Delivery(subscription, queue, channel, method, properties, body))

    return collect


def _insert_marks(collection, marks: list[dict]) -> set[int]:
    """Insert marks in one round trip; returns the positions whose mark already existed."""
    try:
        collection.insert_many(marks, ordered=False)
        return set()
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != DUPLICATE_KEY for error in errors):
            raise
        return {error["index"] for error in errors}


def event_age(event: dict, now: datetime | None = None) -> float | None:
    """Seconds since the event's ``time`` (None when it cannot be read)."""
    try:
        moment = parse_rfc3339(event["time"])
    except (KeyError, TypeError, ValueError):
        return None
    return ((now or datetime.now(timezone.utc)) - moment).total_seconds()


def _observe_age(consumer: str, event: dict) -> None:
    age = event_age(event)
    if age is not None:
        EVENT_AGE.labels(consumer, event["type"]).observe(max(age, 0.0))


def _batch_mark_id(consumer: str, batch_id: str) -> str:
    return f"{consumer}:batch:{batch_id}"


def _finished(collection, marker: str) -> bool:
    """Whether the event ``marker`` names was handled: in the batch it was first received in, or
    (handled again after that batch stopped) by a mark of its own."""
    if collection.find_one({"_id": f"{marker}:done"}, {"_id": 1}) is not None:
        return True
    received = collection.find_one({"_id": marker}, {"batch": 1, "consumer": 1})
    if received is None or "batch" not in received:
        return False
    batch = collection.find_one({"_id": _batch_mark_id(received["consumer"], received["batch"])}, {"handled": 1})
    return batch is not None and marker in batch["handled"]


def was_handled(database: Database, consumer: str, event_id: str) -> bool:
    """Whether ``consumer`` finished handling the event (its handled mark is stored)."""
    return _finished(database[PROCESSED], f"{consumer}:{event_id}")
