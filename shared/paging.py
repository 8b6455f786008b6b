"""Cursor paging: ``limit`` and an opaque ``cursor``; a page is ``{"items": [...], "next_cursor": ...}``.

Pages are ordered by a time field and then ``_id``, and the cursor holds the last pair seen, so
a page never repeats or skips a record when new ones are added while a caller pages.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any, Mapping

from marshmallow import Schema, fields, validate

from shared.errors import Problem
from shared.mongo import ScopedCollection

MAX_LIMIT = 200


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


def page(
    records: ScopedCollection,
    query: Mapping[str, Any],
    *,
    limit: int,
    cursor: str | None,
    order_field: str = "created_at",
    descending: bool = False,
) -> tuple[list[dict], str | None]:
    """One page of ``records`` matching ``query``, and the cursor of the next page (or None)."""
    direction = -1 if descending else 1
    after = "$lt" if descending else "$gt"
    conditions = dict(query)
    if cursor:
        moment, record_id = decode_cursor(cursor)
        conditions["$or"] = [
            {order_field: {after: moment}},
            {order_field: moment, "_id": {after: record_id}},
        ]
    found = list(records.find(conditions).sort([(order_field, direction), ("_id", direction)]).limit(limit + 1))
    if len(found) <= limit:
        return found, None
    last = found[limit - 1]
    return found[:limit], encode_cursor(last[order_field], last["_id"])
