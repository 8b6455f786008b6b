"""Cursor paging: ``limit`` and an opaque ``cursor``; a page is ``{"items": [...], "next_cursor": ...}``.

Pages are ordered by a time field and then ``_id``, and the cursor holds the last pair seen, so
a page never repeats or skips a record when new ones are added while a caller pages.

Two ways to read a page, for two sizes of list:

- ``page``: one query for a list that stays small because of what it is (a goal's progress, a
  client's goals). It names the list by equality and sorts the matches.
- ``Listing.page``: a list that grows without bound (an inbox, a tenant's responses, a webhook's
  deliveries). Each record carries the number of the period (day, month or year) its time falls
  in, and the list keeps a directory of its non-empty periods (``list_periods``). A page reads the
  directory, then one period at a time, newest first, each with an equality lookup, until the page
  is full: its cost is a page of records, not the list. (MongoDB could sort the whole list with an
  index; FerretDB v1 cannot, and must not be made to read a year of an inbox to show ten lines.)
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Sequence

from marshmallow import Schema, fields, validate

from shared.errors import Problem
from shared.mongo import Database, Index, ScopedCollection, insert_once
from shared.periods import period_of

MAX_LIMIT = 200
PERIODS_COLLECTION = "list_periods"
_SEPARATOR = "\x1f"


class PageQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(load_default=None)


def encode_cursor(value: datetime, record_id: str) -> str:
    raw = json.dumps([value.isoformat(), record_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, record_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(moment), str(record_id)
    except (ValueError, TypeError, RecursionError):  # RecursionError: a forged cursor nested deep
        raise Problem(422, "The cursor is not one this service gave out", errors={"cursor": ["invalid cursor"]}) from None


def _after_cursor(order_field: str, cursor: str | None, descending: bool) -> dict[str, Any]:
    if not cursor:
        return {}
    moment, record_id = decode_cursor(cursor)
    after = "$lt" if descending else "$gt"
    return {"$or": [{order_field: {after: moment}}, {order_field: moment, "_id": {after: record_id}}]}


def _sorted(records: ScopedCollection, conditions: Mapping[str, Any], order_field: str, descending: bool, limit: int) -> list[dict[str, Any]]:
    direction = -1 if descending else 1
    return list(records.find(dict(conditions)).sort([(order_field, direction), ("_id", direction)]).limit(limit))


def _cut(found: list[dict[str, Any]], limit: int, order_field: str) -> tuple[list[dict[str, Any]], str | None]:
    if len(found) <= limit:
        return found, None
    last = found[limit - 1]
    return found[:limit], encode_cursor(last[order_field], last["_id"])


def page(
    records: ScopedCollection,
    query: Mapping[str, Any],
    *,
    limit: int,
    cursor: str | None,
    order_field: str = "created_at",
    descending: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a small list: ``records`` matching ``query``, and the next page's cursor (or None)."""
    conditions = {**query, **_after_cursor(order_field, cursor, descending)}
    return _cut(_sorted(records, conditions, order_field, descending, limit + 1), limit, order_field)


def period_field(period: str) -> str:
    return f"{period}_no"


@dataclass(frozen=True)
class Listing:
    """A list that grows without bound: records of one collection that share the values of
    ``key`` (e.g. tenant and recipient), ordered by ``order_field``, read a ``period`` at a time.

    Writers call ``stamp`` on a record before inserting it (it adds the period number and notes
    the period in the list's directory first, so a record is never stored where no page looks);
    readers call ``page``.
    """

    name: str
    key: Sequence[str]
    order_field: str
    period: str = "month"
    descending: bool = True

    @property
    def field(self) -> str:
        return period_field(self.period)

    def indexes(self, collection: str) -> list[Index]:
        return [Index(collection, [*((name, 1) for name in self.key), (self.field, 1)])]

    def list_id(self, values: Mapping[str, Any]) -> str:
        return _SEPARATOR.join([self.name, *(str(values[name]) for name in self.key)])

    def stamp(self, database: Database, document: Mapping[str, Any]) -> dict[str, Any]:
        """``document`` with its period number, its period noted in the list's directory."""
        number = period_of(document[self.order_field], self.period)
        note_period(database, self.list_id(document), number)
        return {**document, self.field: number}

    def periods(self, database: Database, values: Mapping[str, Any]) -> list[int]:
        """The numbers of the periods the list named by ``values`` has records in, in list order."""
        return sorted(
            (doc["number"] for doc in database[PERIODS_COLLECTION].find({"list": self.list_id(values)})),
            reverse=self.descending,
        )

    def page(
        self,
        database: Database,
        records: ScopedCollection,
        values: Mapping[str, Any],
        *,
        limit: int,
        cursor: str | None,
        where: Mapping[str, Any] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the list named by ``values`` (of ``key``), further narrowed by ``where`` and
        to records whose ``order_field`` is at or after ``since`` and before ``until``.

        A time window only drops whole periods from the directory before any record is read;
        within a period it narrows what that period's equality lookup found.
        """
        numbers = self.periods(database, values)
        if since is not None:
            numbers = [n for n in numbers if n >= period_of(since, self.period)]
        if until is not None:
            numbers = [n for n in numbers if n <= period_of(until, self.period)]
        window = {bound: moment for bound, moment in (("$gte", since), ("$lt", until)) if moment is not None}
        after = _after_cursor(self.order_field, cursor, self.descending)
        if cursor:
            start = period_of(decode_cursor(cursor)[0], self.period)
            numbers = [n for n in numbers if (n <= start if self.descending else n >= start)]
        found: list[dict[str, Any]] = []
        for number in numbers:
            conditions = {**values, **(where or {}), self.field: number, **after}
            if window:
                conditions[self.order_field] = window
            found += _sorted(records, conditions, self.order_field, self.descending, limit + 1 - len(found))
            if len(found) > limit:
                break
        return _cut(found, limit, self.order_field)


_noted: set[str] = set()


def note_period(database: Database, list_id: str, number: int) -> None:
    """Record that list ``list_id`` has records in period ``number`` (once; remembered per process)."""
    entry_id = f"{database.name}{_SEPARATOR}{list_id}{_SEPARATOR}{number}"
    if entry_id in _noted:
        return
    if len(_noted) > 100_000:
        _noted.clear()  # a bounded memory of what was noted; forgetting costs one insert
    insert_once(database[PERIODS_COLLECTION], {"_id": f"{list_id}{_SEPARATOR}{number}", "list": list_id, "number": number})
    _noted.add(entry_id)


def period_indexes() -> list[Index]:
    return [Index(PERIODS_COLLECTION, [("list", 1)])]
