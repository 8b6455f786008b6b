"""Marshmallow schemas every service's API uses: problems, pages, times, text, ids."""
from __future__ import annotations

import re
from datetime import timezone

from marshmallow import INCLUDE, Schema, fields, validate

from shared.clock import rfc3339

MAX_ID_LENGTH = 200
# C0 and C1 control characters (NUL, newline, escape, ...): never part of an id, and NUL cannot
# even be part of a MongoDB key.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")


class UtcDateTime(fields.DateTime):
    """RFC 3339 in UTC with a ``Z``; a time without an offset is refused, not guessed."""

    default_error_messages = {
        "naive": "Give a time zone offset, e.g. 2026-01-31T09:00:00Z.",
        "out_of_range": "The time is out of range once in UTC.",
    }

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else rfc3339(value)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is None:
            raise self.make_error("naive")
        try:
            return moment.astimezone(timezone.utc)
        except OverflowError:
            # 0001-01-01T00:00:00+14:00 parses, but is before the first moment Python can hold in UTC.
            raise self.make_error("out_of_range") from None


class Text(fields.String):
    """A string that can be stored. JSON may escape a lone UTF-16 surrogate (``"\\ud800"``),
    which decodes to a Python string no database driver can encode: refused as bad input (422)
    rather than failing on insert (500)."""

    default_error_messages = {"unicode": "Not valid Unicode text."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise self.make_error("unicode") from None
        return text


class Id(Text):
    """A record's or a user's id: 1 to 200 characters, none of them a control character. Every id
    a body or a query names is one; a path's are checked by ``shared.guards`` (404)."""

    default_error_messages = {"control": "An id never contains control characters."}

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Length(min=1, max=MAX_ID_LENGTH))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if CONTROL_CHARACTERS.search(text):
            raise self.make_error("control")
        return text


class ProblemSchema(Schema):
    """An RFC 9457 problem (``shared.errors``). Extension members beyond those named here may be
    added (RFC 9457, section 3.2): a client ignores those it does not know."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(metadata={"description": "a URI naming the kind of problem"})
    title = fields.String(metadata={"description": "the kind of problem, in words"})
    status = fields.Integer(metadata={"description": "the HTTP status"})
    detail = fields.String(metadata={"description": "this occurrence, in words"})
    errors = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()),
        metadata={"description": "each wrong field (dotted path) and what is wrong with it"},
    )
    current = fields.String(metadata={"description": "409 of a status change: the record's current status"})
    allowed = fields.List(
        fields.String(), metadata={"description": "409 of a status change: the statuses it can change to"}
    )


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The list shape of the contract: ``{"items": [...], "next_cursor": ...}``."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "next_cursor": fields.String(allow_none=True),
        },
        name=f"{item_schema.__name__.removesuffix('Schema')}PageSchema",
    )
