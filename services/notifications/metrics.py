"""The notifications worker's own Prometheus counters (served on ``WORKER_METRICS_PORT``)."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

from shared.metrics import LATENCY_BUCKETS

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
