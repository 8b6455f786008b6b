"""The score range of each built-in instrument, for services other than questionnaires.

The goals service checks that a goal measured by an instrument (e.g. "PHQ-9 below 10") has a
target inside the instrument's range. It must not import the questionnaires service, so the
built-in instrument definitions live as data in ``shared/instruments/`` and this module reads
only their ranges.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

INSTRUMENTS_DIR = Path(__file__).parent / "instruments"


@lru_cache(maxsize=1)
def score_ranges() -> dict[str, tuple[float, float]]:
    ranges: dict[str, tuple[float, float]] = {}
    for path in sorted(INSTRUMENTS_DIR.glob("*.json")):
        definition = json.loads(path.read_text())
        low, high = definition["scoring"]["range"]
        ranges[definition["code"]] = (low, high)
    return ranges
