"""A client's responses on one instrument as a numbered series: what a new response is compared with.

Responses of one client on one instrument are numbered 1, 2, 3... in the order they are
recorded. Each new response is compared with:

- its *previous* response: the one recorded just before it;
- its *baseline*: the latest response marked as a baseline, or else the first response.

A response that is itself the baseline (the first, or one marked ``baseline``) has no baseline
to be compared with, so its change from baseline is "not known" (``None``), as for any first
response.

Only the latest response of a series (its :class:`Link`) is needed to place the next one, so
the service reads that one response rather than the client's whole history, and the number of
the new response (``seq``) is claimed under a unique index: of two concurrent submissions only
one can take a number, and the other is placed again after it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping


@dataclass(frozen=True)
class Reference:
    """An earlier response, by id, with its total and when it was completed (None for a
    response stored before references kept it)."""

    response_id: str
    total: int | float
    completed_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"response_id": self.response_id, "total": self.total, "completed_at": self.completed_at}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Reference | None":
        return cls(data["response_id"], data["total"], data.get("completed_at")) if data else None


@dataclass(frozen=True)
class Link:
    """The latest response of a series, as the next response needs it: its number, and the
    baseline in force after it (itself, when it is a baseline)."""

    seq: int
    latest: Reference
    baseline: Reference


@dataclass(frozen=True)
class Placement:
    """Where a new response goes: its number, the previous response, and the baseline it is
    compared with (None when the new response is itself the baseline)."""

    seq: int
    previous: Reference | None
    baseline: Reference | None

    @property
    def is_baseline(self) -> bool:
        return self.baseline is None


def place(latest: Link | None, mark_baseline: bool = False) -> Placement:
    """Place a new response after the series' ``latest`` (None: the series is empty)."""
    if latest is None:
        return Placement(seq=1, previous=None, baseline=None)
    return Placement(seq=latest.seq + 1, previous=latest.latest, baseline=None if mark_baseline else latest.baseline)
