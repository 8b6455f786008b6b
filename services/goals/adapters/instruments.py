"""The instruments a tenant's goals may be measured by, with their score ranges.

The built-ins are shared data (``shared.instrument_ranges``). A clinic's own instruments belong to
the questionnaires service, which announces each with ``instrument.defined``; the worker keeps
what goals needs of it here (``instruments``: ``_id = "<tenant>:<code>"``, ``score_range``,
inserted once, never changed, like the definition it copies). A goal measured by a code neither
knows is refused: it would never be fed by a score.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

from services.goals.config import INSTRUMENTS
from shared.instrument_ranges import score_ranges
from shared.mongo import Database, Scope, ScopedCollection, insert_once


def _record_id(tenant: str, code: str) -> str:
    return f"{tenant}:{code}"


class InstrumentRanges(Mapping[str, tuple[float, float]]):
    """Code -> (lowest, highest) total score, for one tenant: a lookup by ``_id`` per clinic code."""

    def __init__(self, database: Database, tenant: str):
        self.tenant = tenant
        self.records = ScopedCollection(database[INSTRUMENTS], Scope(tenant), client_field=None)

    def __getitem__(self, code: str) -> tuple[float, float]:
        builtin = score_ranges().get(code)
        if builtin is not None:
            return builtin
        record = self.records.find_by_id(_record_id(self.tenant, code)) if isinstance(code, str) else None
        if record is None:
            raise KeyError(code)
        low, high = record["score_range"]
        return low, high

    def __iter__(self) -> Iterator[str]:
        yield from score_ranges()
        yield from (record["code"] for record in self.records.find({"tenant": self.tenant}))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def remember(database: Database, event: Mapping) -> bool:
    """Keep a clinic instrument announced by ``instrument.defined``; False when already known."""
    data = event["data"]
    tenant = event["tenantid"]
    return insert_once(database[INSTRUMENTS], {
        "_id": _record_id(tenant, data["code"]),
        "tenant": tenant,
        "code": data["code"],
        "score_range": list(data["score_range"]),
    })
