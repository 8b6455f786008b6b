"""Reading calendar dates from what callers hand us.

Goals carry calendar dates (`start_date`, `target_date`, a milestone's `due_date`). The API may
pass `datetime.date` objects or the ISO 8601 strings from the wire; the domain accepts both so
the smart-check endpoint can hand a draft straight through.
"""

from datetime import date, datetime
from typing import Any


def as_date(value: Any) -> date | None:
    """Return `value` as a `datetime.date`, or None when it is None.

    Accepts a `date`, a `datetime` (its UTC calendar date is used; callers keep datetimes in
    UTC) or a `YYYY-MM-DD` string. Anything else raises ValueError.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise ValueError(f"not a date: {value!r}")
