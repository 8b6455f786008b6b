"""The instruments a tenant can use: the built-in library, and the tenant's own definitions.

A tenant's instrument is stored once under ``_id = "<tenant>:<code>"``, so the insert is the
claim of its code, a lookup by code is a lookup by ``_id``, and it is never changed afterwards
(a new version is a new code); it carries ``instrument.defined``, which tells the goals service
the code and its score range. That makes
a parsed definition safe to keep in memory for as long as the process lives: a submission
scores against a cached object instead of reading and re-validating the definition each time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.questionnaires import events
from services.questionnaires.config import INSTRUMENTS
from services.questionnaires.domain import Instrument, load_builtin_instruments, parse_instrument
from shared.events.outbox import with_events
from shared.mongo import Database, Scope, ScopedCollection

_PARSED_LIMIT = 1024
_parsed: dict[str, Instrument] = {}


class CodeTaken(Exception):
    """The code of a new instrument is a built-in's or one the tenant already uses."""


@dataclass(frozen=True)
class CatalogueEntry:
    instrument: Instrument
    builtin: bool
    created_at: datetime | None = None
    created_by: str | None = None


def _record_id(tenant: str, code: str) -> str:
    return f"{tenant}:{code}"


def _parse(database: str, record: dict) -> Instrument:
    key = f"{database}/{record['_id']}"
    found = _parsed.get(key)
    if found is None:
        if len(_parsed) >= _PARSED_LIMIT:
            _parsed.clear()
        found = _parsed[key] = parse_instrument(record["definition"])
    return found


class Catalogue:
    """Built-in instruments and the instruments of one tenant (never another tenant's)."""

    def __init__(self, database: Database, tenant: str):
        self.tenant = tenant
        self.database_name = database.name
        self.records = ScopedCollection(database[INSTRUMENTS], Scope(tenant), client_field=None)
        self.builtins = load_builtin_instruments()

    def get(self, code: str) -> CatalogueEntry | None:
        builtin = self.builtins.get(code)
        if builtin is not None:
            return CatalogueEntry(builtin, True)
        record = self.records.find_by_id(_record_id(self.tenant, code))
        return self._entry(record) if record is not None else None

    def all(self) -> list[CatalogueEntry]:
        """Every instrument the tenant can use, by code: the built-ins, and the tenant's own read
        by equality on ``tenant`` (the scope's; a clinic adds a few)."""
        own = [self._entry(record) for record in self.records.find({"tenant": self.tenant})]
        entries = [CatalogueEntry(instrument, True) for instrument in self.builtins.values()] + own
        return sorted(entries, key=lambda entry: entry.instrument.code)

    def add(self, instrument: Instrument, by: str, now: datetime) -> tuple[CatalogueEntry, bool]:
        """Store a tenant's instrument; ``(entry, False)`` when the same definition was already
        stored under that code (a retried request). Raises CodeTaken for a code in use."""
        code = instrument.code
        if code in self.builtins:
            raise CodeTaken(f"{code} is a built-in instrument; choose another code")
        definition = instrument.to_dict()
        record: dict[str, Any] = {
            "_id": _record_id(self.tenant, code),
            "code": code,
            "definition": definition,
            "created_at": now,
            "created_by": by,
        }
        record = with_events(record, [events.instrument_defined(self.tenant, record, now)], now)
        if self.records.insert_once(record):
            return self._entry(record), True
        existing = self.records.find_by_id(record["_id"])
        if existing is None or existing["definition"] != definition:
            raise CodeTaken(f"this clinic already has an instrument with the code {code}")
        return self._entry(existing), False

    def _entry(self, record: dict) -> CatalogueEntry:
        return CatalogueEntry(_parse(self.database_name, record), False, record.get("created_at"), record.get("created_by"))
