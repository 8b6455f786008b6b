"""Where a delivery stands, read from its attempts.

A delivery (one email, one webhook POST of one event) is never updated to say how it went:
each attempt appends a record, and the delivery's state is read back from those records. So a
worker that crashes mid-attempt, or two replicas looking at the same delivery, cannot leave a
half-written state; the worst case is an attempt made twice, which at-least-once delivery
allows.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from services.notifications.domain.delivery import TARGET_REFUSED, Outcome, RetryPolicy, next_attempt_at

# An attempt whose worker vanished before recording its result (found by its expired lease).
INTERRUPTED = "interrupted"
# Not attempted because the destination went away (email switched off, subscription disabled).
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Attempt:
    number: int
    outcome: str
    final: bool
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class Step:
    """What to do now: make attempt ``number`` (``due``), wait until ``wait_until``, or nothing
    more (``done``)."""

    number: int
    due: bool
    wait_until: datetime | None = None
    done: bool = False


def next_step(attempts: Sequence[Attempt], first_due: datetime, now: datetime) -> Step:
    """The next attempt of a delivery first due at ``first_due``, given the attempts so far."""
    if not attempts:
        return Step(1, first_due <= now, None if first_due <= now else first_due)
    last = max(attempts, key=lambda a: a.number)
    if last.final:
        return Step(last.number, False, done=True)
    when = last.next_attempt_at or now
    return Step(last.number + 1, when <= now, None if when <= now else when)


def conclude(number: int, outcome: Outcome, now: datetime, policy: RetryPolicy) -> Attempt:
    """The record of attempt ``number`` that ended in ``outcome``: final unless it is worth
    retrying and attempts remain, in which case it says when to try again."""
    if outcome == Outcome.RETRY:
        retry_at = next_attempt_at(number, now, policy)
        if retry_at is not None:
            return Attempt(number, outcome.value, False, retry_at)
    return Attempt(number, outcome.value, True)


def interrupted(number: int, now: datetime, policy: RetryPolicy) -> Attempt:
    """An attempt presumed lost: it counts as tried, and the next one is due at once."""
    if number >= policy.max_attempts:
        return Attempt(number, INTERRUPTED, True)
    return Attempt(number, INTERRUPTED, False, now)


def consecutive_failures(final_outcomes_newest_first: Sequence[str]) -> int:
    """How many ended deliveries failed in a row, counting back from the newest until one that
    was delivered."""
    count = 0
    for outcome in final_outcomes_newest_first:
        if outcome == Outcome.DELIVERED:
            break
        count += 1
    return count


def attempt_reason(outcome: str, status: int | None, error: str | None) -> str:
    """What an attempt came to, in our own words for the subscription's delivery log: never the
    receiver's status or error text, which would turn the log into a probe of what answers
    where."""
    if outcome == CANCELLED:
        return "not_attempted"
    if outcome == INTERRUPTED:
        return "interrupted"
    if error == TARGET_REFUSED:
        return TARGET_REFUSED
    if status is None:
        return "no_answer"
    if 200 <= status < 300:
        return "accepted"
    if 300 <= status < 400:
        return "redirect_not_followed"
    if status in (408, 425, 429):
        return "asked_to_retry"
    if 400 <= status < 500:
        return "refused_by_receiver"
    if status >= 500:
        return "receiver_error"
    return "unexpected_answer"
