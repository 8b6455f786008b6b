"""An identity provider's public signing keys, read from its JWKS URL.

PyJWT's ``PyJWKClient`` fetches the key set (with a timeout, no redirects) and caches it for
``JWT_JWKS_CACHE_SECONDS``. What this module adds is when to fetch again, and what a failure is:

- a token naming a key id (``kid``) that is not in the cached set fetches the set again, so a
  provider's new key is used without a restart, and a key the provider removed is gone with the
  old set. Such a fetch, and a retry after a failed one, happen at most once per
  ``JWT_JWKS_MIN_REFRESH_SECONDS``: made-up key ids or a provider that is down cost it one
  request per interval, not one per API request;
- a fetch that fails (refused, timed out, not a key set) is ``KeysUnavailable``, which the API
  answers with 503: the caller's token may well be good, the keys to check it are missing.

One lock per process serialises lookups, so concurrent requests wait for a single fetch rather
than each making their own.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from jwt import PyJWK, PyJWKClient
from jwt.exceptions import PyJWTError


class KeysUnavailable(Exception):
    """The identity provider's key set could not be fetched or read."""


class JwksKeys:
    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float,
        timeout_seconds: float,
        min_refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._client = PyJWKClient(url, cache_jwk_set=True, lifespan=cache_seconds, timeout=timeout_seconds)
        self.min_refresh_seconds = min_refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._fetched_at: float | None = None
        self._failed = False

    def key(self, kid: str) -> PyJWK | None:
        """The signing key with this id, or None when the provider does not publish one."""
        with self._lock:
            found = self._match(self._signing_keys(refresh=False), kid)
            if found is None and self._may_fetch():
                found = self._match(self._signing_keys(refresh=True), kid)
            return found

    def _may_fetch(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self.min_refresh_seconds

    def _signing_keys(self, refresh: bool) -> list[PyJWK]:
        cache = self._client.jwk_set_cache
        fetching = refresh or cache is None or cache.get() is None
        if fetching:
            if self._failed and not self._may_fetch():
                raise KeysUnavailable("the last fetch failed; waiting before the next")
            self._fetched_at = self._clock()
        try:
            keys = self._client.get_signing_keys(refresh=refresh)
        except (PyJWTError, ValueError) as exc:  # ValueError: the answer was not JSON
            self._failed = True
            raise KeysUnavailable(exc.__class__.__name__) from None
        self._failed = False
        return keys

    @staticmethod
    def _match(keys: list[PyJWK], kid: str) -> PyJWK | None:
        return next((key for key in keys if key.key_id == kid), None)
