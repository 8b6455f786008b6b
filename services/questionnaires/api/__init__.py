"""The questionnaires HTTP API: thin routes that validate, authorize, call the domain and store."""
from __future__ import annotations

from services.questionnaires import config
from services.questionnaires.api import assignments, clients, instruments, responses
from shared import client_data


def blueprints() -> list:
    return [client_data.blueprint(config.CLIENT_RECORDS, config.SERVICE), instruments.blp, responses.blp, clients.blp, assignments.blp]
