"""The notifications worker: ``python -m services.notifications.worker``. Wiring only: the
handlers are in ``handlers.py``, the jobs in ``jobs.py``.

Three consumers (``notifications.risk`` for risk alerts, on a queue of their own so they never wait
behind routine events; ``notifications.rules`` for the other events that tell people something;
``notifications.webhooks`` for every event, to subscribers), the outbox relay for
``notification.delivered``/``notification.failed``, and three periodic jobs: email deliveries,
webhook deliveries (apart, so a slow webhook never holds up a risk alert email) and escalations.
"""
from __future__ import annotations

from datetime import timedelta

from services.notifications import config, metrics
from services.notifications.actions import EmailChannel, WebhookChannel
from services.notifications.adapters.alerts import open_alert_times
from services.notifications.adapters.smtp import SmtpSender
from services.notifications.adapters.webhook_client import Targets, WebhookClient
from services.notifications.domain.delivery import RetryPolicy
from services.notifications.handlers import (
    ROUTINE_PATTERNS, URGENT_PATTERNS, WEBHOOK_PATTERNS, RulesConsumer, WebhookFanout,
)
from services.notifications.jobs import DeliveryJob, EscalationJob
from shared import client_data
from shared.clock import SystemClock
from shared.config import Settings
from shared.events.consumer import Subscription
from shared.mongo import Database
from shared.worker import PeriodicJob, Worker, main


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        base_seconds=settings["DELIVERY_RETRY_BASE_SECONDS"],
        factor=settings["DELIVERY_RETRY_FACTOR"],
        cap_seconds=settings["DELIVERY_RETRY_CAP_SECONDS"],
        max_attempts=settings["DELIVERY_MAX_ATTEMPTS"],
    )


def build_worker(
    settings: Settings | None = None,
    clock=None,
    smtp: SmtpSender | None = None,
    http: WebhookClient | None = None,
) -> Worker:
    """The worker, wired from ``settings``; ``smtp`` and ``http`` replace the email sender and
    the webhook client built from them (``SMTP_URL``, timeouts)."""
    settings = settings or config.load()
    clock = clock or SystemClock()
    database = Database(settings.mongo_url, settings.database, config.INDEXES)
    smtp = smtp or SmtpSender(settings.smtp_url, settings["SMTP_FROM"], settings["SMTP_TIMEOUT_SECONDS"])
    http = http or WebhookClient(settings["WEBHOOK_TIMEOUT_SECONDS"], Targets(settings["WEBHOOK_ALLOWED_HOSTS"]))
    policy = retry_policy(settings)
    lease = timedelta(seconds=settings["DELIVERY_LEASE_SECONDS"])
    poll = settings["DELIVERY_POLL_SECONDS"]
    emails = DeliveryJob(database, clock, EmailChannel(database, smtp, settings["APP_BASE_URL"]), policy, lease)
    webhooks = DeliveryJob(database, clock, WebhookChannel(database, http, settings["WEBHOOK_DISABLE_AFTER"]), policy, lease)
    escalations = EscalationJob(database, clock)
    rules = RulesConsumer(database, clock, timedelta(minutes=settings["ALERT_ESCALATE_AFTER_MINUTES"]))
    return Worker(
        settings=settings,
        database=database,
        subscriptions=[
            Subscription("notifications.risk", URGENT_PATTERNS, rules),
            Subscription("notifications.rules", ROUTINE_PATTERNS, rules),
            Subscription("notifications.webhooks", WEBHOOK_PATTERNS, WebhookFanout(database, clock)),
            *client_data.subscriptions(database, config.CLIENT_RECORDS, config.SERVICE, clock),
        ],
        outbox_collections=config.OUTBOX_COLLECTIONS,
        jobs=[
            PeriodicJob("email-deliveries", poll, emails.run),
            PeriodicJob("webhook-deliveries", poll, webhooks.run),
            PeriodicJob("escalations", settings["ESCALATION_POLL_SECONDS"], escalations.run),
        ],
        collectors=[metrics.unacknowledged_alerts(lambda: open_alert_times(database), clock.now)],
        clock=clock,
    )


if __name__ == "__main__":
    main(build_worker, config.SERVICE)
