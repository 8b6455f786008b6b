"""``Idempotency-Key`` for creating POSTs, without a separate claims table.

The created record's id is derived from the tenant, the route and the key, so the record's own
insert is the claim: a retry with the same key collides on ``_id``, finds the first record, and
returns it. The record keeps a fingerprint of the body; a retry with the same key but another
body is a 409. Because creation and claim are one insert, a crash can never leave a claimed key
without its record, nor a record created twice. What a request creates inside another record
(a goal's milestone, stored in a revision) takes its id, its stamp and the replay check from
``keyed_request`` the same way.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from flask import request
from pymongo.errors import DuplicateKeyError

from shared.auth import current_principal
from shared.errors import Problem
from shared.mongo import ScopedCollection

HEADER = "Idempotency-Key"
_NAMESPACE = uuid.UUID("6f1b3c2a-9d4e-4f5a-8b7c-1e2d3c4b5a69")
MAX_KEY_LENGTH = 200


def fingerprint(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def request_key() -> str | None:
    key = request.headers.get(HEADER)
    if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH):
        raise Problem(422, f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters", errors={HEADER: ["invalid length"]})
    return key


def record_id(tenant: str, caller: str, route: str, key: str | None) -> str:
    """A fresh id, or with a key the same id every time for this tenant, caller and route.

    Keys are the caller's own: two callers who happen to pick the same key do not collide.
    """
    if key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join((tenant, caller, route, key))))


@dataclass(frozen=True)
class KeyedRequest:
    """A creating request as its ``Idempotency-Key`` identifies it: the id of what it creates
    (the same for every retry with the key, fresh without one) and its body's fingerprint."""

    key: str | None
    id: str
    fingerprint: str

    @property
    def stamp(self) -> dict | None:
        """What the created record keeps of the request, so a retry can be recognised."""
        return {"key": self.key, "fingerprint": self.fingerprint} if self.key else None

    def replay(self, existing: Mapping[str, Any]) -> dict:
        """``existing``, created by an earlier try of this request; 409 when it had another body."""
        if (existing.get("idempotency") or {}).get("fingerprint") != self.fingerprint:
            raise Problem(409, f"This {HEADER} was already used with a different body")
        return dict(existing)


def keyed_request(tenant: str, route: str, body: Mapping[str, Any]) -> KeyedRequest:
    """This request (its caller, ``route`` and key) as ``KeyedRequest``."""
    key = request_key()
    return KeyedRequest(key, record_id(tenant, current_principal().sub, route, key), fingerprint(body))


def create_once(
    records: ScopedCollection,
    route: str,
    body: Mapping[str, Any],
    build: Callable[[str], Mapping[str, Any]],
) -> tuple[dict, bool]:
    """Insert the record ``build(id)`` unless this request's key already created one.

    Returns ``(record, created)``. ``build`` receives the id to use and returns the document to
    insert (events included); it is called once per request.
    """
    request = keyed_request(records.scope.tenant, route, body)
    if request.key is not None:
        existing = records.find_by_id(request.id)
        if existing is not None:
            return request.replay(existing), False
    document = {**build(request.id), "_id": request.id, "idempotency": request.stamp}
    try:
        return records.insert_one(document), True
    except DuplicateKeyError:
        existing = records.find_by_id(request.id)
        if existing is None:
            raise
        return request.replay(existing), False
