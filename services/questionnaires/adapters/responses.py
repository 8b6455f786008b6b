"""MongoDB storage of scored responses.

A response is inserted once, with its events, and never changed. Its place in the client's
series on that instrument (``seq``) is claimed by the insert itself, under the unique index
``series_seq``: two concurrent submissions cannot both follow the same previous response.

Every read names what it reads by equality on top-level fields, and what it matches is one
client's records (docs/STORAGE.md):

- placing a new response reads the latest of its series: ``{tenant, client_id, instrument}``
  sorted by ``seq`` descending, limit 1 (served by ``series_seq``);
- a trajectory or a recovery reads a series: ``{tenant, client_id, instrument}``, or
  ``{tenant, client_id}`` for every instrument;
- the lists are long lists (``shared.paging.Listing``): a client's responses a year at a time,
  a tenant's a day at a time, each narrowed by instrument when asked. Each response is stamped
  for both before it is stored.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping

from services.questionnaires.config import CLIENT_RESPONSES, RESPONSES, TENANT_RESPONSES
from services.questionnaires.domain import Link, Reference
from shared.idempotency import create_once
from shared.mongo import TenantRepository

# What trajectories read: everything but the events and the raw answers.
SUMMARY = {"outbox": 0, "answers": 0, "idempotency": 0}
# What placing the next response needs of the latest one (see ``link_of``).
LINK_FIELDS = {"seq": 1, "score.total": 1, "completed_at": 1, "baseline": 1, "compared_with.baseline": 1}


class ResponseStore(TenantRepository):
    collection_name = RESPONSES

    def get(self, response_id: str) -> dict | None:
        return self.records.find_by_id(response_id)

    def latest(self, client_id: str, instrument: str) -> Link | None:
        """The latest response of the client's series on ``instrument``, as the next one needs it."""
        query = {"client_id": client_id, "instrument": instrument}
        found = list(self.records.find(query, projection=LINK_FIELDS).sort("seq", -1).limit(1))
        return link_of(found[0]) if found else None

    def ends(self, client_id: str, instrument: str) -> Link | None:
        """The series' latest response and its baseline, both with when they were completed, or
        None for an empty series (or one erased while it was read). A baseline recorded before
        references kept that time is read by id."""
        link = self.latest(client_id, instrument)
        if link is None or link.baseline.completed_at is not None:
            return link
        found = self.records.find_one({"_id": link.baseline.response_id}, projection=LINK_FIELDS)
        return replace(link, baseline=link_of(found).latest) if found else None

    def create(self, route: str, body: Mapping[str, Any], build: Callable[[str], Mapping[str, Any]]) -> tuple[dict, bool]:
        """Insert the response ``build(id)`` once per Idempotency-Key (see ``create_once``).

        Raises DuplicateKeyError when its ``seq`` was taken meanwhile: place it again."""
        return create_once(self.records, route, body, lambda response_id: self.listed(build(response_id)))

    def listed(self, response: Mapping[str, Any]) -> dict:
        """``response`` stamped for the tenant's and the client's lists (each notes its period
        in its directory first, so a stored response is always where a page looks)."""
        stamped = {**response, "tenant": self.scope.tenant}
        return CLIENT_RESPONSES.stamp(self.database, TENANT_RESPONSES.stamp(self.database, stamped))

    def page(
        self, filters: Mapping[str, Any], *, limit: int, cursor: str | None, stored: Mapping[str, Any] | None = None
    ) -> tuple[list[dict], str | None]:
        """Newest completed first; ``filters``: ``client_id`` and ``instrument``, both optional;
        ``stored``: a condition on when the response was stored (``created_at``), applied to
        the periods the list reads.

        A client's list when one is named (or the caller is a client), else the tenant's."""
        client_id = filters.get("client_id") or self.scope.client_id
        where: dict[str, Any] = {"instrument": filters["instrument"]} if filters.get("instrument") else {}
        if stored:
            where["created_at"] = dict(stored)
        if client_id is not None:
            listing, values = CLIENT_RESPONSES, {"tenant": self.scope.tenant, "client_id": client_id}
        else:
            listing, values = TENANT_RESPONSES, {"tenant": self.scope.tenant}
        return listing.page(self.database, self.records, values, limit=limit, cursor=cursor, where=where)

    def series(self, client_id: str, instrument: str | None = None) -> list[dict]:
        """The client's responses on ``instrument`` (on every instrument when None, by
        instrument), as summaries, oldest completed first."""
        query: dict[str, Any] = {"client_id": client_id}
        order = [("completed_at", 1), ("seq", 1)]
        if instrument is not None:
            query["instrument"] = instrument
        else:
            order.insert(0, ("instrument", 1))
        return list(self.records.find(query, projection=SUMMARY).sort(order))


def link_of(response: Mapping[str, Any]) -> Link:
    """The series' link once ``response`` is stored."""
    me = Reference(response["_id"], response["score"]["total"], response["completed_at"])
    baseline = me if response["baseline"] else Reference.from_dict(response["compared_with"]["baseline"])
    return Link(response["seq"], me, baseline)
