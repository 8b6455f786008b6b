"""Whether a webhook subscription is enabled, read from its disable/enable history.

Disabling (by the delivery job) and re-enabling (by the subscription's owner) can happen at the
same moment, so neither updates the subscription: each appends an entry under a unique id made
of its action and *generation*. Generation 0 starts enabled; disabling in generation ``g``
stores ``disabled:g`` (at most once, however many failing deliveries notice it); re-enabling
stores ``enabled:g+1`` and opens the next generation. Concurrent re-enables therefore collide
on one id and make one change.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

ENABLED = "enabled"
DISABLED = "disabled"


@dataclass(frozen=True)
class StatusChange:
    action: str
    generation: int
    at: datetime


@dataclass(frozen=True)
class State:
    """``since`` is when the current generation began (its re-enable), ``None`` for the first;
    only failures after it count towards disabling again."""

    status: str
    generation: int
    since: datetime | None = None
    disabled_at: datetime | None = None


def change_id(subscription_id: str, action: str, generation: int) -> str:
    return f"{subscription_id}:{action}:{generation}"


def fold(changes: Iterable[StatusChange]) -> State:
    changes = list(changes)
    enables = [c for c in changes if c.action == ENABLED]
    current = max(enables, key=lambda c: c.generation, default=None)
    generation = current.generation if current else 0
    since = current.at if current else None
    disabled = next((c for c in changes if c.action == DISABLED and c.generation == generation), None)
    if disabled is not None:
        return State(DISABLED, generation, since, disabled.at)
    return State(ENABLED, generation, since)
