"""Which secrets sign a webhook delivery, read from the subscription's rotations.

A subscription is created with its first secret. Each rotation is its own record, numbered
1, 2, ... under a unique id (``rotation_id``), so two admins rotating at once make one rotation
and the other is told (409), instead of one overwriting the other's secret unseen. A rotation
names its new secret and how long the secret before it stays valid (``previous_valid_until``).

While that overlap runs a delivery is signed with both, the new secret first, so the
subscriber can change its secret at any moment of the window; afterwards with the new one only.
At most two secrets are ever valid: rotating again during an overlap ends the older one at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Long enough for a clinic's IT to change the receiver's configuration in working hours.
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)


@dataclass(frozen=True)
class Rotation:
    number: int
    secret: str
    at: datetime
    previous_valid_until: datetime


def rotation_id(subscription_id: str, number: int) -> str:
    return f"{subscription_id}:secret:{number}"


def next_number(rotations: list[Rotation]) -> int:
    return max((r.number for r in rotations), default=0) + 1


def signing_secrets(first: str, rotations: list[Rotation], now: datetime) -> list[str]:
    """The secrets valid at ``now``, the newest first."""
    ordered = [first, *(r.secret for r in sorted(rotations, key=lambda r: r.number))]
    newest = max(rotations, key=lambda r: r.number, default=None)
    if newest is None or now >= newest.previous_valid_until:
        return [ordered[-1]]
    return [ordered[-1], ordered[-2]]


def previous_valid_until(rotations: list[Rotation], now: datetime) -> datetime | None:
    """When the previous secret stops being valid, while an overlap runs; None otherwise."""
    newest = max(rotations, key=lambda r: r.number, default=None)
    return newest.previous_valid_until if newest is not None and now < newest.previous_valid_until else None
