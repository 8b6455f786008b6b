"""Retrying deliveries, telling a retryable failure from a final one, and disabling a
subscription that keeps failing.

Terms: an *attempt* is one HTTP request (or SMTP send); a *delivery* is one notification or event
to one destination, made of attempts until it is delivered, rejected or out of attempts.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # worth another attempt later
    REJECTED = "rejected"  # final: the same request would fail the same way


@dataclass(frozen=True)
class RetryPolicy:
    """Delays grow geometrically (``base * factor**(n-1)``) up to ``cap``, so a receiver that is
    restarting gets a quick retry and one that is down is not hammered.

    The defaults (1 s, 5 s, 25 s, 125 s, then every 10 min, 10 attempts in all) ride out an outage
    of about 50 minutes before the delivery is given up.
    """

    base_seconds: float = 1
    factor: float = 5
    cap_seconds: float = 600
    max_attempts: int = 10

    def delay(self, attempt: int) -> timedelta:
        """How long to wait after failed attempt number ``attempt`` (1 for the first)."""
        if attempt < 1:
            raise ValueError("attempts are numbered from 1")
        seconds = min(self.base_seconds * self.factor ** (attempt - 1), self.cap_seconds)
        return timedelta(seconds=seconds)


DEFAULT_RETRY = RetryPolicy()

# Ten deliveries in a row that failed (after their retries) point to an endpoint that is gone or
# misconfigured rather than briefly down; an admin re-enables it once it is fixed.
DEFAULT_DISABLE_THRESHOLD = 10


def next_attempt_at(
    attempt: int, now: datetime, policy: RetryPolicy = DEFAULT_RETRY
) -> datetime | None:
    """When to try again after failed attempt number ``attempt``, or ``None`` when that was the
    last one and the delivery has failed."""
    if attempt >= policy.max_attempts:
        return None
    return now + policy.delay(attempt)


# The error of an attempt that was not made because its URL or address is not one we send to
# (``domain.targets``): final, since sending again would be refused again.
TARGET_REFUSED = "target_not_allowed"


def classify_http(status: int | None, error: str | None = None) -> Outcome:
    """The outcome of a webhook attempt from its HTTP status; ``None`` means no response
    (timeout, connection refused, DNS or TLS failure).

    - a target we do not send to (``TARGET_REFUSED``): rejected, and nothing was sent.
    - 2xx: delivered.
    - no response, 5xx, 408 Request Timeout, 425 Too Early, 429 Too Many Requests: retry; the
      receiver is down, overloaded or asked us to come back.
    - any other 4xx: rejected; the receiver refused this request (bad signature, unknown path,
      gone) and sending it again would not change that.
    - 1xx and 3xx: rejected; redirects are not followed, because a signed event must reach the
      URL the tenant registered and not wherever that URL points next. The tenant fixes the URL.
    """
    if error == TARGET_REFUSED:
        return Outcome.REJECTED
    if status is None or status >= 500 or status in (408, 425, 429):
        return Outcome.RETRY
    if 200 <= status < 300:
        return Outcome.DELIVERED
    return Outcome.REJECTED


def classify_smtp(code: int | None) -> Outcome:
    """The outcome of an email attempt from the SMTP reply code; ``None`` means no reply
    (connection failure, timeout). SMTP marks transience itself: 4xx retry, 5xx permanent."""
    if code is None or 400 <= code < 500:
        return Outcome.RETRY
    if 200 <= code < 300:
        return Outcome.DELIVERED
    return Outcome.REJECTED


def should_disable(
    consecutive_failures: int, threshold: int = DEFAULT_DISABLE_THRESHOLD
) -> bool:
    """Whether a webhook subscription should be disabled.

    ``consecutive_failures`` counts failed *deliveries* (rejected, or out of attempts) since the
    last delivered one; a single success resets it to 0. Counting deliveries, not attempts, means
    one slow outage that retries succeed through never disables anything.
    """
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    return consecutive_failures >= threshold
