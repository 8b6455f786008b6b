"""The goals HTTP API: thin routes that validate, authorize, call the domain and store."""
from __future__ import annotations

from services.goals import config
from services.goals.api import attainment, goals
from shared import client_data


def blueprints() -> list:
    return [client_data.blueprint(config.CLIENT_RECORDS, config.SERVICE), goals.blp, attainment.blp]
