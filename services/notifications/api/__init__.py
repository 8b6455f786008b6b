"""The notifications HTTP API: thin routes that validate, authorize, call the domain and store."""
from __future__ import annotations

from services.notifications.api import alerts, notifications, preferences, subscriptions, teams


def blueprints() -> list:
    return [notifications.blp, preferences.blp, teams.care_teams, teams.admins, alerts.blp, subscriptions.blp]
