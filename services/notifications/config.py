"""The notifications service's settings, its storage's shape (collections, long lists,
timetables, indexes) and its event-carrying collections."""
from __future__ import annotations

from shared import client_data
from shared.config import Option, Settings, load_settings, positive_int, positive_number, url_with_scheme
from shared.events.consumer import processed_indexes
from shared.audit import indexes as audit_indexes
from shared.mongo import Index
from shared.paging import Listing, period_indexes
from shared.timetable import Timetable

SERVICE = "notifications"


def _address(value: str) -> str:
    if "@" not in value or any(c in value for c in "\r\n"):
        raise ValueError("expected an email address, e.g. Stepwise <no-reply@clinic.example>")
    return value


def _hosts(value: str) -> tuple[str, ...]:
    hosts = tuple(host.strip() for host in value.split(",") if host.strip())
    if any(c in host for host in hosts for c in "/@ ") or any(host.count(":") == 1 for host in hosts):
        raise ValueError("expected comma-separated host names or addresses, without scheme, port or path")
    return hosts


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
    Option("WEBHOOK_ALLOWED_HOSTS", _hosts, (),
           "development only: webhook hosts that may be http and resolve to any address (e.g. a local receiver)"),
    Option("APP_BASE_URL", url_with_scheme("http", "https"), "http://localhost:3000",
           "the clinic app that email links point to (<APP_BASE_URL>/notifications/<id>)"),
)

NOTIFICATIONS = "notifications"
DELIVERIES = "deliveries"
DELIVERY_CLAIMS = "delivery_claims"
DELIVERY_ATTEMPTS = "delivery_attempts"
ALERTS = "alerts"
ALERT_EVENTS = "alert_events"
MEMBERSHIPS = "memberships"
PREFERENCES = "preferences"
SUBSCRIPTIONS = "subscriptions"
SUBSCRIPTION_EVENTS = "subscription_events"
# Emails waiting for their recipient's quiet hours to end, so a change of preferences can
# release them (the email timetable is keyed by time, not by recipient).
HELD_EMAILS = "held_emails"
SUBSCRIPTION_SECRETS = "subscription_secrets"

# Due work (shared.timetable): one timetable per channel, so that a backlog of webhook deliveries
# never delays a risk alert's email, and one for the alerts awaiting escalation.
EMAIL_TIMETABLE = "email_timetable"
WEBHOOK_TIMETABLE = "webhook_timetable"
ESCALATION_TIMETABLE = "escalation_timetable"
DELIVERY_TIMETABLES = {"email": EMAIL_TIMETABLE, "webhook": WEBHOOK_TIMETABLE}

# Lists that grow without bound (shared.paging.Listing), newest first.
# A person's inbox: a month holds tens to hundreds of notifications even for a busy therapist.
RECIPIENT_NOTIFICATIONS = Listing("inbox", ("tenant", "recipient_id"), "created_at", period="month")
# A tenant's risk alerts (up to hundreds a month in a large clinic), and one client's (a few a
# year: a month at a time, a page would read a dozen near-empty months).
TENANT_ALERTS = Listing("alerts", ("tenant",), "raised_at", period="month")
CLIENT_ALERTS = Listing("client_alerts", ("tenant", "client_id"), "raised_at", period="year")
# Every attempt to deliver to a webhook subscription: a subscription to ``#`` gets every event
# of its tenant, so a day at a time.
WEBHOOK_ATTEMPTS = Listing("webhook_attempts", ("tenant", "subscription_id"), "at", period="day")

# Append-only records that carry events (see shared/events/outbox.py): an attempt that ends a
# delivery carries notification.delivered or notification.failed.
# A client's records, for export and erasure (shared/client_data.py): what was sent to anyone
# about them, their alerts, their care team, and their own preferences and held emails.
CLIENT_RECORDS = client_data.ClientRecords(by_client=(
    *((collection, "client_id") for collection in (NOTIFICATIONS, DELIVERIES, DELIVERY_ATTEMPTS, ALERTS, ALERT_EVENTS,
                                                   MEMBERSHIPS)),
    (PREFERENCES, "user_id"),
    (HELD_EMAILS, "recipient_id"),
))

OUTBOX_COLLECTIONS: tuple[str, ...] = (DELIVERY_ATTEMPTS, *client_data.outbox_collections())
# The indexes of the queries the service makes (see the README's data model); records read only
# by ``_id`` (deliveries, claims, attempts of a delivery, preferences) need none of their own.
_INDEXES: tuple[Index, ...] = (
    *processed_indexes(),
    *period_indexes(),
    *audit_indexes(),
    *RECIPIENT_NOTIFICATIONS.indexes(NOTIFICATIONS),
    *TENANT_ALERTS.indexes(ALERTS),
    *CLIENT_ALERTS.indexes(ALERTS),
    *WEBHOOK_ATTEMPTS.indexes(DELIVERY_ATTEMPTS),
    *Timetable.indexes(EMAIL_TIMETABLE),
    *Timetable.indexes(WEBHOOK_TIMETABLE),
    *Timetable.indexes(ESCALATION_TIMETABLE),
    # Every tenant's alerts awaiting acknowledgement, for the metrics (adapters.alerts.open_alert_times).
    Index(ALERTS, [("status", 1)]),
    Index(ALERT_EVENTS, [("tenant", 1), ("alert_id", 1)]),
    Index(MEMBERSHIPS, [("tenant", 1), ("group", 1), ("client_id", 1)]),
    Index(SUBSCRIPTIONS, [("tenant", 1), ("created_at", 1)]),
    Index(SUBSCRIPTION_EVENTS, [("tenant", 1), ("subscription_id", 1)]),
    Index(HELD_EMAILS, [("tenant", 1), ("recipient_id", 1)]),
    *client_data.indexes(),
    Index(SUBSCRIPTION_SECRETS, [("tenant", 1), ("subscription_id", 1)]),
)
INDEXES = (*_INDEXES, *CLIENT_RECORDS.indexes(_INDEXES))


def load() -> Settings:
    return load_settings(SERVICE, options=OPTIONS)
