"""The notifications service's settings, indexes and event-carrying collections."""
from __future__ import annotations

from shared.config import Option, Settings, load_settings, positive_int, positive_number, url_with_scheme
from shared.events.consumer import processed_indexes
from shared.mongo import Index

SERVICE = "notifications"


def _address(value: str) -> str:
    if "@" not in value or any(c in value for c in "\r\n"):
        raise ValueError("expected an email address, e.g. Stepwise <no-reply@clinic.example>")
    return value


OPTIONS: tuple[Option, ...] = (
    Option("ALERT_ESCALATE_AFTER_MINUTES", positive_number, 30.0,
           "minutes a risk alert may stay unacknowledged before the tenant's admins are told"),
    Option("WEBHOOK_DISABLE_AFTER", positive_int, 10,
           "consecutive failed webhook deliveries (each after its retries) that disable a subscription"),
    Option("DELIVERY_POLL_SECONDS", positive_number, 2.0, "how often the email and webhook jobs look for due deliveries"),
    Option("ESCALATION_POLL_SECONDS", positive_number, 15.0, "how often the escalation job looks for overdue alerts"),
    Option("DELIVERY_LEASE_SECONDS", positive_number, 300.0,
           "how long a claimed attempt may run before it is presumed lost (crash) and tried again"),
    Option("DELIVERY_RETRY_BASE_SECONDS", positive_number, 1.0, "delay after a first failed attempt"),
    Option("DELIVERY_RETRY_FACTOR", positive_number, 5.0, "each further delay is this many times the last"),
    Option("DELIVERY_RETRY_CAP_SECONDS", positive_number, 600.0, "the longest delay between attempts"),
    Option("DELIVERY_MAX_ATTEMPTS", positive_int, 10, "attempts before an email or webhook delivery has failed"),
    Option("SMTP_FROM", _address, "Stepwise <no-reply@stepwise.invalid>", "the From header of notification emails"),
    Option("SMTP_TIMEOUT_SECONDS", positive_number, 20.0, "connect and reply timeout of an SMTP attempt"),
    Option("WEBHOOK_TIMEOUT_SECONDS", positive_number, 10.0, "connect and read timeout of a webhook POST"),
    Option("APP_BASE_URL", url_with_scheme("http", "https"), "http://localhost:3000",
           "the clinic app that email links point to (<APP_BASE_URL>/notifications/<id>)"),
)

NOTIFICATIONS = "notifications"
DELIVERIES = "deliveries"
DELIVERY_SCHEDULE = "delivery_schedule"
DELIVERY_CLAIMS = "delivery_claims"
DELIVERY_ATTEMPTS = "delivery_attempts"
ALERTS = "alerts"
ALERT_EVENTS = "alert_events"
ALERT_WATCH = "alert_watch"
MEMBERSHIPS = "memberships"
PREFERENCES = "preferences"
SUBSCRIPTIONS = "subscriptions"
SUBSCRIPTION_EVENTS = "subscription_events"

# Append-only records that carry events (see shared/events/outbox.py): an attempt that ends a
# delivery carries notification.delivered or notification.failed.
OUTBOX_COLLECTIONS: tuple[str, ...] = (DELIVERY_ATTEMPTS,)
INDEXES: tuple[Index, ...] = (
    *processed_indexes(),
    Index(NOTIFICATIONS, [("tenant", 1), ("recipient_id", 1), ("created_at", -1)]),
    Index(DELIVERY_SCHEDULE, [("kind", 1), ("next_at", 1)]),
    Index(DELIVERY_ATTEMPTS, [("tenant", 1), ("subscription_id", 1), ("at", -1)]),
    Index(ALERT_WATCH, [("escalate_at", 1)]),
    Index(ALERTS, [("tenant", 1), ("client_id", 1), ("raised_at", -1)]),
    Index(ALERT_EVENTS, [("alert_id", 1)]),
    Index(MEMBERSHIPS, [("tenant", 1), ("group", 1), ("client_id", 1)]),
    Index(SUBSCRIPTIONS, [("tenant", 1), ("created_at", 1)]),
    Index(SUBSCRIPTION_EVENTS, [("subscription_id", 1)]),
)


def load() -> Settings:
    return load_settings(SERVICE, options=OPTIONS)
