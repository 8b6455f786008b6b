"""The notifications HTTP API: thin routes that validate, authorize, call the domain and store."""
from __future__ import annotations

from services.notifications import config
from services.notifications.api import alerts, notifications, preferences, subscriptions, teams
from shared import client_data


def blueprints() -> list:
    return [client_data.blueprint(config.CLIENT_RECORDS, config.SERVICE), notifications.blp, preferences.blp, teams.care_teams, teams.admins, alerts.blp, subscriptions.blp]
