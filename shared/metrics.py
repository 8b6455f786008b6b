"""Prometheus metrics, in multiprocess mode under gunicorn.

Under gunicorn every worker process keeps its own counters; prometheus-client's multiprocess
mode writes them to files in ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` adds them up.
The gunicorn config sets that directory before the app is imported. A worker process (not
under gunicorn) uses the ordinary in-process registry.

The outbox backlog is not counted by any process: it is read from MongoDB at scrape time, so
it is right whichever process relays.
"""
from __future__ import annotations

import os
from typing import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

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
    "stepwise_events_dead_lettered_total", "Events moved to a dead-letter queue after the last try", ["consumer"]
)
# Seconds from an event's time (when the change that raised it was stored) to a consumer taking it.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
EVENT_AGE = Histogram(
    "stepwise_event_age_seconds", "Age of an event when a consumer takes it (stored to consumed)",
    ["consumer", "type"], buckets=LATENCY_BUCKETS,
)


class BacklogCollector:
    """``stepwise_outbox_backlog``: events stored but not yet confirmed by the broker."""

    def __init__(self, count_backlog: Callable[[], int]):
        self.count_backlog = count_backlog

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("stepwise_outbox_backlog", "Stored events waiting to be published")
        try:
            gauge.add_metric([], self.count_backlog())
        except Exception:
            # A database outage must not break the scrape; /readyz reports it.
            return []
        return [gauge]


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
