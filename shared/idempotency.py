"""``Idempotency-Key`` for creating POSTs, without a separate claims table.

The created record's id is derived from the tenant, the route and the key, so the record's own
insert is the claim: a retry with the same key collides on ``_id``, finds the first record, and
returns it. The record keeps a fingerprint of the body; a retry with the same key but another
body is a 409. Because creation and claim are one insert, a crash can never leave a claimed key
without its record, nor a record created twice.
"""
from __future__ import annotations

import hashlib
import json
import uuid
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
    return str(uuid.uuid5(_NAMESPACE, f"{tenant}\x1f{caller}\x1f{route}\x1f{key}"))


def create_once(
    records: ScopedCollection,
    route: str,
    body: Mapping[str, Any],
    build: Callable[[str], Mapping[str, Any]],
) -> tuple[dict[str, Any], bool]:
    """Insert the record ``build(id)`` unless this request's key already created one.

    Returns ``(record, created)``. ``build`` receives the id to use and returns the document to
    insert (events included); it is called once per request.
    """
    key = request_key()
    body_print = fingerprint(body)
    new_id = record_id(records.scope.tenant, current_principal().sub, route, key)
    if key is not None:
        existing = records.find_by_id(new_id)
        if existing is not None:
            return _replay(existing, body_print), False
    document = as_created(build(new_id), new_id, key, body_print)
    try:
        return records.insert_one(document), True
    except DuplicateKeyError:
        existing = records.find_by_id(new_id)
        if existing is None:
            raise
        return _replay(existing, body_print), False


def as_created(document: Mapping[str, Any], new_id: str, key: str | None = None, body_print: str | None = None) -> dict[str, Any]:
    """``document`` as ``create_once`` stores it: under ``new_id``, with its key and the body's
    fingerprint when the request had a key."""
    return {**document, "_id": new_id, "idempotency": {"key": key, "fingerprint": body_print} if key else None}


def _replay(existing: Mapping[str, Any], body_print: str) -> dict[str, Any]:
    stored = (existing.get("idempotency") or {}).get("fingerprint")
    if stored != body_print:
        raise Problem(409, f"This {HEADER} was already used with a different body")
    return dict(existing)
