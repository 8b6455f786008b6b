"""MongoDB storage of scored responses and of where each client's series on an instrument stands.

A response is inserted once, with its events, and never changed. Its place in the client's
series on that instrument (``seq``) is claimed by the insert itself, under the unique index
``series_seq``: two concurrent submissions cannot both follow the same previous response.

To place a new response the service needs only the latest one of the series (a
:class:`~services.questionnaires.domain.history.Link`). It is kept in a *head*, one small
document per client and instrument, read and written by ``_id``. FerretDB v1 answers every read
and update with a scan of the collection, so the heads are spread by a hash of their id over
``HEAD_BUCKETS`` collections (``score_heads.00`` ...) and each lookup scans one small bucket
instead of every head or every response. The head is a hint, updated after each insert: if it
lags (a crash, two updates crossing), the insert at the number it suggests fails on
``series_seq`` and the service reads the response that holds that number instead.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Iterable, Mapping

from pymongo.errors import DuplicateKeyError

from services.questionnaires.config import HEAD_BUCKETS, RESPONSES, SCORE_HEADS
from services.questionnaires.domain import Link, Reference
from shared.idempotency import create_once
from shared.mongo import TenantRepository
from shared.paging import page

# What lists and trajectories read: everything but the events and the raw answers.
SUMMARY = {"outbox": 0, "answers": 0, "idempotency": 0}


def series_id(tenant: str, client_id: str, instrument: str) -> str:
    return json.dumps([tenant, client_id, instrument], separators=(",", ":"))


def heads_collection(head_id: str) -> str:
    bucket = int(hashlib.blake2b(head_id.encode(), digest_size=2).hexdigest(), 16) % HEAD_BUCKETS
    return f"{SCORE_HEADS}.{bucket:02d}"


class ResponseStore(TenantRepository):
    collection_name = RESPONSES

    def get(self, response_id: str) -> dict | None:
        return self.records.find_by_id(response_id)

    def head(self, client_id: str, instrument: str) -> Link | None:
        head_id = series_id(self.scope.tenant, client_id, instrument)
        found = self.scoped(heads_collection(head_id)).find_by_id(head_id)
        return Link.from_dict(found["link"]) if found else None

    def link_at(self, client_id: str, instrument: str, seq: int) -> Link | None:
        """The link after response ``seq``, read from the response itself (the slow path, when
        the head lags)."""
        found = self.records.find_one({"client_id": client_id, "instrument": instrument, "seq": seq}, projection=SUMMARY)
        return link_of(found) if found else None

    def advance(self, client_id: str, instrument: str, link: Link) -> None:
        """Move the head on to ``link``. Keyed by tenant, client and instrument, so the write
        cannot reach another scope; the filter is ``_id`` alone so FerretDB can look it up."""
        head_id = series_id(self.scope.tenant, client_id, instrument)
        heads = self.database[heads_collection(head_id)]
        fields = {"tenant": self.scope.tenant, "client_id": client_id, "instrument": instrument, "link": link.to_dict()}
        try:
            heads.update_one({"_id": head_id}, {"$set": fields}, upsert=True)
        except DuplicateKeyError:
            # Another first response of the series created the head between our read and write.
            heads.update_one({"_id": head_id}, {"$set": fields})

    def create(self, route: str, body: Mapping[str, Any], build: Callable[[str], Mapping[str, Any]]) -> tuple[dict, bool]:
        """Insert the response ``build(id)`` once per Idempotency-Key (see ``create_once``).

        Raises DuplicateKeyError when its ``seq`` was taken meanwhile: place it again."""
        return create_once(self.records, route, body, build)

    def page(self, filters: Mapping[str, Any], *, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        """Newest completed first."""
        return page(self.records, filters, limit=limit, cursor=cursor, order_field="completed_at", descending=True)

    def series(self, client_id: str, instruments: Iterable[str] | None = None) -> list[dict]:
        """Every response of the client (on these instruments), as summaries, unordered."""
        query: dict[str, Any] = {"client_id": client_id}
        if instruments is not None:
            codes = sorted(set(instruments))
            query["instrument"] = codes[0] if len(codes) == 1 else {"$in": codes}
        return list(self.records.find(query, projection=SUMMARY))


def link_of(response: Mapping[str, Any]) -> Link:
    """The series' link once ``response`` is stored."""
    me = Reference(response["_id"], response["score"]["total"])
    baseline = me if response["baseline"] else Reference.from_dict(response["compared_with"]["baseline"])
    return Link(response["seq"], me, baseline)
