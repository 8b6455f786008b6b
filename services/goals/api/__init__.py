"""The goals HTTP API: thin routes that validate, authorize, call the domain and store."""
from __future__ import annotations


def blueprints() -> list:
    return []
