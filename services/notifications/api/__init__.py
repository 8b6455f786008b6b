"""The notifications HTTP API: thin routes that check who may act, hand the validated body to
``actions.Clinic`` and show the result with ``views``."""
from __future__ import annotations

from services.notifications import config
from services.notifications.api import alerts, notifications, preferences, subscriptions, teams
from shared import client_data
from shared.audit import RouteAudit

# The access audit (shared.audit): routes that read a client's records, that change them, and that
# touch none. A route missing here stops the app at start-up.
AUDITED = RouteAudit(
    reads=(
        "GET /v1/clients/<client_id>/export",
        "GET /v1/notifications", "GET /v1/notifications/<notification_id>", "GET /v1/alerts",
        "GET /v1/alerts/<alert_id>", "GET /v1/care-teams/<client_id>",
    ),
    changes=(
        "POST /v1/clients/<client_id>/erasure",
        "POST /v1/notifications/<notification_id>/read", "POST /v1/alerts/<alert_id>/acknowledge",
        "PUT /v1/care-teams/<client_id>",
    ),
    # A person's channels, the clinic's webhooks (their attempts carry ids and outcomes, no event
    # data), its admins and its clinician roster.
    others=(
        "GET /v1/erasures/<erasure_id>",
        "GET /v1/preferences/<user_id>", "PUT /v1/preferences/<user_id>", "GET /v1/subscriptions",
        "POST /v1/subscriptions", "GET /v1/subscriptions/<subscription_id>",
        "GET /v1/subscriptions/<subscription_id>/deliveries", "POST /v1/subscriptions/<subscription_id>/enable",
        "GET /v1/tenant/admins", "PUT /v1/tenant/admins", "GET /v1/tenant/clinicians", "PUT /v1/tenant/clinicians",
        "POST /v1/subscriptions/<subscription_id>/secret", "DELETE /v1/subscriptions/<subscription_id>",
    ),
)


def blueprints() -> list:
    return [
        client_data.blueprint(config.CLIENT_RECORDS, config.SERVICE),
        notifications.blp, preferences.blp, teams.care_teams, teams.admins, alerts.blp, subscriptions.blp,
    ]
