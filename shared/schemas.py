"""Marshmallow schemas every service's API uses: problems, pages, times, text."""
from __future__ import annotations

from datetime import timezone

from marshmallow import Schema, fields


class UtcDateTime(fields.DateTime):
    """RFC 3339 in UTC with a ``Z``; a time without an offset is refused, not guessed."""

    default_error_messages = {
        "naive": "Give a time zone offset, e.g. 2026-01-31T09:00:00Z.",
        "out_of_range": "The time is out of range once in UTC.",
    }

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

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


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The list shape of the contract: ``{"items": [...], "next_cursor": ...}``."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "next_cursor": fields.String(allow_none=True),
        },
        name=f"{item_schema.__name__.removesuffix('Schema')}PageSchema",
    )
