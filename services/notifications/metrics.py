"""The notifications service's own Prometheus metrics: the worker's (served on
``WORKER_METRICS_PORT``) and the API's time to acknowledge (its ``/metrics``)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable

from prometheus_client import Counter, Histogram

from shared.metrics import LATENCY_BUCKETS, ReadOnScrape, gauge

DELIVERY_ATTEMPTS = Counter(
    "stepwise_notification_delivery_attempts_total", "Delivery attempts recorded, by channel and outcome", ["channel", "outcome"]
)
ALERTS_RAISED = Counter("stepwise_risk_alerts_raised_total", "Risk alerts raised")
ALERTS_UNROUTED = Counter(
    "stepwise_risk_alerts_unrouted_total", "Risk alerts raised with nobody to tell (no care team, no admins)"
)
ALERTS_ESCALATED = Counter("stepwise_risk_alerts_escalated_total", "Risk alerts escalated to the tenant's admins")
WEBHOOKS_DISABLED = Counter("stepwise_webhook_subscriptions_disabled_total", "Webhook subscriptions disabled after failures")
RISK_ALERT_LATENCY = Histogram(
    "stepwise_risk_alert_latency_seconds",
    "From the risky response being stored (its risk.flagged event's time) to the alert in a clinician's inbox",
    buckets=LATENCY_BUCKETS,
)
# Clinicians acknowledge in minutes to hours; escalation comes at ALERT_ESCALATE_AFTER_MINUTES (30).
ACKNOWLEDGE_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0)
RISK_ALERT_ACKNOWLEDGE_DELAY = Histogram(
    "stepwise_risk_alert_acknowledge_delay_seconds",
    "From a risk alert reaching a clinician's inbox (or being raised, when nobody could be told) to its acknowledgement",
    buckets=ACKNOWLEDGE_BUCKETS,
)

# The bands of ``stepwise_risk_alerts_unacknowledged``: alerts waiting at least this long.
UNACKNOWLEDGED_AGES_SECONDS = (0, 300, 900, 1800, 3600, 14400)


def unacknowledged_alerts(raised_times: Callable[[], Iterable[datetime]], now: Callable[[], datetime]) -> ReadOnScrape:
    """Risk alerts nobody has acknowledged, counted by how long they have waited, and the oldest's wait."""

    def read() -> list:
        moment = now()
        waits = [(moment - raised).total_seconds() for raised in raised_times()]
        return [
            gauge("stepwise_risk_alerts_unacknowledged",
                  "Risk alerts not acknowledged yet that have waited at least older_than_seconds since they were raised",
                  [({"older_than_seconds": str(band)}, sum(wait >= band for wait in waits))
                   for band in UNACKNOWLEDGED_AGES_SECONDS], labels=["older_than_seconds"]),
            gauge("stepwise_risk_alert_oldest_unacknowledged_age_seconds",
                  "Seconds the oldest risk alert not acknowledged yet has waited since it was raised (0 when none waits)",
                  [({}, max([0.0, *waits]))]),
        ]

    return ReadOnScrape("the database", read)
