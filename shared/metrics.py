"""Prometheus metrics, in multiprocess mode under gunicorn.

Under gunicorn every worker process keeps its own counters; prometheus-client's multiprocess
mode writes them to files in ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` adds them up.
The gunicorn config sets that directory before the app is imported. A worker process (not
under gunicorn) uses the ordinary in-process registry.

What no process counts is read at scrape time (``ReadOnScrape``): the outbox backlog and the age
of its oldest event (from MongoDB, right whichever process relays), the depth of a worker's
queues (from the broker), unacknowledged risk alerts. A gauge a worker sets (consumer lag, a
periodic job's last success) keeps its most recent value in multiprocess mode: a worker is one
process, and after a restart the new process's value is the most recent.
"""
from __future__ import annotations

import logging
import os
import platform
from typing import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "stepwise_http_requests_total", "HTTP requests answered, by route template and status", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "stepwise_http_request_duration_seconds", "Time to answer an HTTP request, by route template", ["route", "method"]
)
EVENTS_PUBLISHED = Counter("stepwise_events_published_total", "Events confirmed by the broker", ["type"])
EVENTS_UNROUTABLE = Counter(
    "stepwise_events_unroutable_total", "Events the broker returned because no queue was bound; kept for retry", ["type"]
)
EVENTS_CONSUMED = Counter(
    "stepwise_events_consumed_total", "Events handled by a consumer (outcome: handled or duplicate)", ["consumer", "outcome"]
)
EVENTS_RETRIED = Counter("stepwise_events_retried_total", "Events sent to a delay queue for another try", ["consumer"])
EVENTS_DEAD_LETTERED = Counter(
    "stepwise_events_dead_lettered_total",
    "Events moved to a dead-letter queue: malformed (at once) or failed (after the last try)",
    ["consumer", "reason"],
)
# Seconds from an event's time (when the change that raised it was stored) to a consumer taking it.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
EVENT_AGE = Histogram(
    "stepwise_event_age_seconds", "Age of an event when a consumer takes it (stored to consumed)",
    ["consumer", "type"], buckets=LATENCY_BUCKETS,
)

HANDLER_DURATION = Histogram(
    "stepwise_event_handler_duration_seconds", "Time a consumer's handler took for one event, by event type",
    ["consumer", "type"], buckets=LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "stepwise_consumer_lag_seconds",
    "Age of the oldest event in the batch a consumer last took off its queue (0 once the queue is empty)",
    ["consumer"], multiprocess_mode="mostrecent",
)
# Labelled ``name``, not ``job``: Prometheus gives every scraped series a ``job`` label of its own.
JOB_LAST_SUCCESS = Gauge(
    "stepwise_job_last_success_timestamp_seconds", "When a periodic job last finished a run without error (Unix time)",
    ["name"], multiprocess_mode="mostrecent",
)
JOB_INTERVAL = Gauge(
    "stepwise_job_interval_seconds", "How often a periodic job runs (its alert compares the last success with it)",
    ["name"], multiprocess_mode="mostrecent",
)


def gauge(name: str, documentation: str, values: Iterable[tuple[dict[str, str], float]] = (), *,
          labels: Iterable[str] = ()) -> GaugeMetricFamily:
    """A gauge family read at scrape time, with one sample per ``(labels, value)``."""
    labels = list(labels)
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in values:
        family.add_metric([label_values[label] for label in labels], value)
    return family


class ReadOnScrape:
    """Metrics read when Prometheus scrapes (from the database or the broker), not counted.

    A failed read leaves them out of that scrape instead of failing it: the outage shows in
    ``/readyz`` and in the metrics that stop moving, and the other metrics still arrive.
    """

    def __init__(self, what: str, read: Callable[[], Iterable[Metric]]):
        self.what = what
        self.read = read

    def collect(self) -> Iterable[Metric]:
        try:
            return list(self.read())
        except Exception as exc:
            log.warning("metrics not read: %s unavailable (%s)", self.what, exc.__class__.__name__)
            return []


def outbox_collector(count_backlog: Callable[[], int], oldest_age: Callable[[], float]) -> ReadOnScrape:
    """``stepwise_outbox_backlog`` (events stored but not yet confirmed by the broker) and
    ``stepwise_outbox_oldest_event_age_seconds`` (0 when none waits)."""
    return ReadOnScrape("the database", lambda: [
        gauge("stepwise_outbox_backlog", "Stored events waiting to be published", [({}, count_backlog())]),
        gauge("stepwise_outbox_oldest_event_age_seconds",
              "Seconds since the oldest event waiting to be published was stored (0 when none waits)",
              [({}, oldest_age())]),
    ])


class BuildInfo:
    """``stepwise_build_info``: always 1, labelled with what runs (the image's build arguments).

    ``service_name``, not ``service``: prometheus-operator gives scraped series a ``service`` label.
    """

    def __init__(self, service: str):
        self.labels = {
            "service_name": service,
            "version": os.environ.get("STEPWISE_VERSION") or "dev",
            "revision": os.environ.get("STEPWISE_REVISION") or "unknown",
            "python_version": platform.python_version(),
        }

    def collect(self) -> Iterable[Metric]:
        return [gauge("stepwise_build_info", "The running build: service, version, source revision, Python",
                      [(self.labels, 1)], labels=self.labels)]


def registry(extra_collectors: Iterable[object] = ()) -> CollectorRegistry:
    """What a scrape reads: every process's metrics (multiprocess mode) or this process's, plus extras."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        scraped = CollectorRegistry()
        multiprocess.MultiProcessCollector(scraped)
    else:
        scraped = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):
            scraped.register(collector)
    for collector in extra_collectors:
        scraped.register(collector)
    return scraped


def render(extra_collectors: Iterable[object] = ()) -> tuple[bytes, str]:
    """The metrics page: every process's counters plus ``extra_collectors``."""
    return generate_latest(registry(extra_collectors)), CONTENT_TYPE_LATEST
