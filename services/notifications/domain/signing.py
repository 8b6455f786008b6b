"""Webhook signatures and subscription patterns.

How a subscriber verifies a delivery
------------------------------------
Every webhook delivery is a ``POST`` whose body is the CloudEvent (JSON) and whose header

    Stepwise-Signature: t=1741000000,v1=8333ffc87084bce3900d8ba610bdae6fe841ba90703785e57bd32dd8cbdc3565

(for the secret ``s3cret`` and the body ``{"hello":"world"}``, a test vector) carries ``t``, the Unix time (seconds) of signing, and ``v1``, the lowercase hex HMAC-SHA256 of
the string ``"<t>.<raw body>"`` keyed with the subscription's secret (UTF-8). To verify:

1. Split the header on ``,`` and each part on the first ``=``; take ``t`` and every ``v1``.
2. Compute HMAC-SHA256(secret, ``t`` + ``"."`` + the raw body bytes exactly as received, before
   any JSON parsing) and hex-encode it.
3. Accept if it equals one of the ``v1`` values (compare in constant time) and ``t`` is within
   five minutes of your clock. Signing the timestamp with the body means an attacker cannot
   replay an old delivery with a fresh ``t``; the tolerance bounds how long a captured delivery
   stays usable. Deduplicate on the CloudEvent ``id``, since deliveries are at least once.

More than one ``v1`` may appear: while a secret is being rotated
(``POST /v1/subscriptions/{id}/secret``) the header carries ``v1`` made with the new secret
first and ``v1`` made with the previous one after it, until the rotation's overlap ends
(``domain.secret_rotation``). A subscriber that still holds the old secret keeps verifying, and
can switch to the new one at any moment of the overlap. Unknown keys are to be ignored so that
later schemes can be added alongside.
"""

import hashlib
import hmac
from datetime import datetime
from typing import Sequence

from shared.events.topics import matches  # noqa: F401  subscriptions match routing keys as the broker does

SIGNATURE_HEADER = "Stepwise-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def _unix(moment: int | datetime) -> int:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("times must be timezone-aware")
        return int(moment.timestamp())
    return int(moment)


def _digest(secret: str | bytes, timestamp: int, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: bytes, timestamp: int | datetime, also: Sequence[str | bytes] = ()) -> str:
    """The ``Stepwise-Signature`` header value for ``body`` sent at ``timestamp``: one ``v1``
    with ``secret``, then one with each of ``also`` (the previous secret while a rotation's
    overlap runs)."""
    if not secret or not all(also):
        raise ValueError("a subscription secret is required to sign")
    t = _unix(timestamp)
    return ",".join([f"t={t}", *(f"v1={_digest(key, t, body)}" for key in (secret, *also))])


def verify(
    secret: str | bytes,
    body: bytes,
    header: str,
    now: int | datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether ``header`` is a valid signature of ``body`` made within ``tolerance_seconds`` of
    ``now`` (either side, for clock skew). A malformed header is simply not valid."""
    if not secret or not header:
        return False
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not (timestamp.isascii() and timestamp.isdigit()) or not signatures:
        return False
    t = int(timestamp)
    if abs(_unix(now) - t) > tolerance_seconds:
        return False
    expected = _digest(secret, t, body).encode()
    # Check every candidate so the time taken does not depend on which one matched.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate.encode())
    return matched


def _words(text: str) -> list[str]:
    return text.split(".")


def is_valid_pattern(pattern: str) -> bool:
    """A subscription pattern is dot-separated words, each non-empty; ``*`` and ``#`` only as
    whole words (``goal.*``, ``#``, ``questionnaire.#``), as in AMQP topic bindings."""
    if not isinstance(pattern, str) or not pattern:
        return False
    return all(
        word in ("*", "#") or (word and "*" not in word and "#" not in word)
        for word in _words(pattern)
    )
