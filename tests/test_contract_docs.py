"""docs/CONTRACT.md names every HTTP route the services serve (the contract or its extensions)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from shared.apidocs import DOCS, SERVICES

CONTRACT = (Path(__file__).resolve().parent.parent / "docs" / "CONTRACT.md").read_text()


def shape(path: str) -> str:
    """``/v1/goals/{goal_id}/progress`` and ``/v1/goals/{id}/progress`` have one shape."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_served_route_is_in_the_contract_document():
    named = {shape(path) for path in re.findall(r"(/v1/[A-Za-z0-9_{}/-]+)", CONTRACT)}
    served = {
        shape(path)
        for service in SERVICES
        for path in json.loads((DOCS / f"{service}.json").read_text())["paths"]
        if path.startswith("/v1/")
    }
    assert served - named == set()
