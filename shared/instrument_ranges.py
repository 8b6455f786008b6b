"""The score range and total-score codes of each built-in instrument, for services other than
questionnaires.

The goals service checks that a goal measured by an instrument (e.g. "PHQ-9 below 10") has a
target inside the instrument's range. It must not import the questionnaires service, so the
built-in instrument definitions live as data in ``shared/instruments/`` and this module reads
only their ranges and, for its FHIR Goals, the codes of their totals.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

INSTRUMENTS_DIR = Path(__file__).parent / "instruments"


@lru_cache(maxsize=1)
def _definitions() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(path.read_text()) for path in sorted(INSTRUMENTS_DIR.glob("*.json")))


@lru_cache(maxsize=1)
def score_ranges() -> dict[str, tuple[float, float]]:
    return {definition["code"]: tuple(definition["scoring"]["range"]) for definition in _definitions()}


@lru_cache(maxsize=1)
def total_codes() -> dict[str, list[dict[str, Any]]]:
    """Each built-in's total-score codes (``system``, ``code``, ``display``), by instrument code."""
    return {
        definition["code"]: [
            {key: code[key] for key in ("system", "code", "display") if code.get(key)}
            for code in definition.get("codes", ()) if code["role"] == "total"
        ]
        for definition in _definitions()
    }
