"""The worker process every service runs: consumers, the outbox relay, periodic jobs, a heartbeat.

    python -m services.<name>.worker

Each part runs in its own thread with its own connections (pika connections are not
thread-safe): one consumer per subscription, so no subscription waits behind another, the relay,
each periodic job, and the retention job that deletes expired bookkeeping. SIGTERM or SIGINT stops
them cleanly: a consumer finishes the batch in hand, unacknowledged messages go back to the
queue, and the relay waits briefly for outstanding confirms and leaves unsent events pending.

The heartbeat (the liveness probe's file) is beaten only while every part's thread runs. A part
that ended on an unexpected error would otherwise leave a process that looks alive and consumes
nothing; instead the worker stops beating and exits with status 1, so that its orchestrator
restarts it. Its Prometheus metrics are served on ``WORKER_METRICS_PORT`` (9100 unless ``off``):
what its parts count, plus what is read at each scrape (the outbox backlog, its consumers' queue
depths and dead letters from the broker, and the service's own ``collectors``); its spans go
where ``OTEL_TRACES_EXPORTER`` says (``shared.tracing``; nowhere by default).

Periodic jobs (reminders, deadlines, escalations) may run in several replicas at once; they
must make their effects exactly-once through claims (``insert_once``), not through the
assumption that only one replica runs.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, Callable, Iterable, Sequence
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from prometheus_client.registry import Collector
from pymongo.errors import PyMongoError

from shared import heartbeat, metrics, retention, tracing
from shared.clock import Clock, SystemClock
from shared.config import ConfigError, Settings
from shared.events import amqp
from shared.events.consumer import PROCESSED, Consumer, Subscription, processed_indexes
from shared.events.outbox import SENT, Relay, backlog_metrics
from shared.logs import configure_logging, log_context, new_correlation_id
from shared.mongo import Database

log = logging.getLogger(__name__)

# How often expired bookkeeping (processed and sent marks) is deleted.
RETENTION_CHECK_SECONDS = 3600.0
# How often the outbox's repair sweep looks for changes whose writer stopped before journalling.
REPAIR_CHECK_SECONDS = 60.0


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[], object]


class Worker:
    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        subscriptions: Sequence[Subscription] = (),
        outbox_collections: Sequence[str] = (),
        jobs: Sequence[PeriodicJob] = (),
        collectors: Sequence[Collector] = (),
        clock: Clock | None = None,
    ):
        self.settings = settings
        self.collectors = tuple(collectors)
        self.database = database
        self.clock = clock or SystemClock()
        kept_for = timedelta(days=settings.retention_days)
        self.consumers = tuple(
            Consumer(
                amqp_url=settings.amqp_url,
                exchange=settings.exchange,
                queue_prefix=settings.queue_prefix,
                database=database,
                subscription=subscription,
                prefetch=settings.prefetch,
                retry_delays=settings.retry_delays,
                marks_kept_for=kept_for,
            )
            for subscription in subscriptions
        )
        self.relay = (
            Relay(
                database,
                settings.amqp_url,
                settings.exchange,
                collections=outbox_collections,
                clock=self.clock,
                sent_kept_for=kept_for,
            )
            if outbox_collections
            else None
        )
        bookkeeping = [*((PROCESSED,) if self.consumers else ()), *((SENT,) if self.relay else ())]
        retention_job = (
            [PeriodicJob("retention", RETENTION_CHECK_SECONDS, lambda: retention.purge(database, bookkeeping, self.clock.now()))]
            if bookkeeping
            else []
        )
        repair_job = [PeriodicJob("outbox-repair", REPAIR_CHECK_SECONDS, self.relay.repair)] if self.relay else []
        self.jobs = (*jobs, *retention_job, *repair_job)
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._metrics_server: WSGIServer | None = None

    def declare(self) -> None:
        """Declare every consumer's queues (so the broker keeps what is published before they run)."""
        for consumer in self.consumers:
            consumer.declare()

    def ready(self, timeout: float) -> bool:
        """Whether every consumer is connected and bound, waiting up to ``timeout`` seconds."""
        return all(consumer.ready.wait(timeout) for consumer in self.consumers)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"{self.settings.service}-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _run_job(self, job: PeriodicJob) -> None:
        metrics.JOB_INTERVAL.labels(job.name).set(job.every_seconds)
        while not self.stopping.is_set():
            try:
                # Each run has a correlation id of its own, which the events it raises carry on.
                with log_context(new_correlation_id()):
                    job.run()
                metrics.JOB_LAST_SUCCESS.labels(job.name).set_to_current_time()
            except PyMongoError as exc:
                log.warning("job %s paused: database unavailable (%s)", job.name, exc.__class__.__name__)
            except Exception:
                log.exception("job %s failed; it will run again", job.name)
            self.stopping.wait(job.every_seconds)

    def start(self) -> Worker:
        self.database.ensure_indexes()
        if self.consumers:
            self.database.ensure(processed_indexes())
        for consumer in self.consumers:
            self._spawn(f"consumer-{consumer.subscription.consumer}", consumer.run)
        if self.relay is not None:
            relay = self.relay
            relay.ensure_indexes()
            self._spawn("relay", lambda: relay.run(self.stopping, self.settings.outbox_poll_seconds))
        for job in self.jobs:
            self._spawn(job.name, partial(self._run_job, job))
        return self

    def metrics_collectors(self) -> list[Collector]:
        """What a scrape reads besides the counters: build info, the outbox, the queues, the service's own."""
        return [metrics.BuildInfo(self.settings.service), backlog_metrics(self.database),
                *([queue_metrics(self.settings.amqp_url, self.consumers)] if self.consumers else []), *self.collectors]

    def serve_metrics(self, port: int, host: str) -> int:
        """Serve ``/metrics`` on ``host:port`` (0: a free port) until ``stop``; returns the port."""
        server, _ = start_http_server(port, addr=host, registry=metrics.registry(self.metrics_collectors()))
        self._metrics_server = server
        return server.server_port

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server = None
        for consumer in self.consumers:
            consumer.stop()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def ended_parts(self) -> list[str]:
        """The names of the started parts whose thread has ended although no stop was asked."""
        return [thread.name for thread in self._threads if not thread.is_alive()]

    def run_forever(self) -> None:
        """Run until SIGTERM/SIGINT, beating the heartbeat file and serving metrics.

        Exits with status 1 when a part's thread has ended on its own (see the module's docstring).
        """
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        if self.settings.worker_metrics_port:
            # HOST as for the APIs: all interfaces in a container, loopback in scripts/stack.
            self.serve_metrics(self.settings.worker_metrics_port, os.environ.get("HOST", "0.0.0.0"))
        self.start()
        log.info("worker started")
        all_running = heartbeat.run(heartbeat.heartbeat_path(), self.stopping, healthy=lambda: not self.ended_parts())
        if not all_running:
            log.error("worker part ended unexpectedly; exiting to be restarted", extra={"parts": self.ended_parts()})
        log.info("worker stopping")
        self.stop()
        if not all_running:
            raise SystemExit(1)


def queue_metrics(amqp_url: str, consumers: Iterable[Consumer]) -> metrics.ReadOnScrape:
    """The depth, consumers and dead letters of each consumer's queue, asked of the broker at each scrape."""
    dead_letters = {consumer.topology.queue: amqp.dead_letter_queue(consumer.topology.queue) for consumer in consumers}
    inspector = amqp.QueueInspector(amqp_url, [*dead_letters, *dead_letters.values()])

    def read() -> list[Any]:
        states = {state.queue: state for state in inspector.read()}
        queues = [states[queue] for queue in dead_letters if queue in states]
        dead = [({"queue": queue}, states[dead].messages) for queue, dead in dead_letters.items() if dead in states]
        return [
            metrics.gauge("stepwise_queue_messages", "Messages waiting in a consumer's queue (not yet delivered)",
                          [({"queue": state.queue}, state.messages) for state in queues], labels=["queue"]),
            metrics.gauge("stepwise_queue_consumers", "Consumers the broker counts on a consumer's queue, every replica's",
                          [({"queue": state.queue}, state.consumers) for state in queues], labels=["queue"]),
            metrics.gauge("stepwise_dead_letter_messages",
                          "Messages in the dead-letter queue of a consumer's queue (labelled with the consumer's queue)",
                          dead, labels=["queue"]),
        ]

    return metrics.ReadOnScrape("the broker", read)


def main(build: Callable[[], Worker], service: str) -> None:
    """Entry point of ``python -m services.<name>.worker``: a bad setting exits 2 naming it."""
    configure_logging(service)
    try:
        worker = build()
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        raise SystemExit(2) from None
    configure_logging(service, worker.settings.log_level)
    tracing.configure(f"stepwise-{service}-worker", worker.settings.traces_exporters)
    worker.run_forever()
