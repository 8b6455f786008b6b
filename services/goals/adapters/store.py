"""MongoDB storage of goals: creation records, revisions, progress, claims and ratings.

Nothing here is ever updated by the service (the outbox relay alone marks events sent): a goal
is its immutable creation record plus append-only records beside it, and its current state is
folded in Python (``domain.history.fold``). Reads of several goals fetch the records beside
them with one ``$in`` query per collection.

Every collection is read and written through the caller's scope, so another tenant's goal,
or for a client another client's goal, is simply not found.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping

from pymongo.errors import DuplicateKeyError

from services.goals.config import CLAIMS, GOALS, PROGRESS, RATINGS, REVISIONS
from services.goals.domain.history import fold
from shared.idempotency import create_once
from shared.mongo import Database, Scope, TenantRepository
from shared.paging import encode_cursor, page

MILESTONE_CLAIM = "milestone_reached"
DUE_SOON_CLAIM = "due_soon"


class SeqTaken(Exception):
    """Another change took this revision's seq first: re-read the goal and try again."""


@dataclass
class GoalHistory:
    """Everything stored about one goal; ``goal`` is its current state."""

    created: dict
    revisions: list[dict]
    entries: list[dict]
    claims: list[dict]
    latest_rating: dict | None

    @property
    def id(self) -> str:
        return self.created["_id"]

    @cached_property
    def goal(self) -> dict:
        return fold(self.created, self.revisions)

    def reached(self) -> dict[str, dict]:
        """The claims of reached milestones by milestone id."""
        return {c["milestone_id"]: c for c in self.claims if c["kind"] == MILESTONE_CLAIM}

    def claimed(self, kind: str) -> bool:
        return any(claim["kind"] == kind for claim in self.claims)


class GoalStore(TenantRepository):
    collection_name = GOALS

    def create(self, route: str, body: Mapping[str, Any], build: Callable[[str], Mapping[str, Any]]) -> tuple[dict, bool]:
        """Insert a goal's creation record once per ``Idempotency-Key`` (see shared.idempotency)."""
        return create_once(self.records, route, body, build)

    def get(self, goal_id: str) -> GoalHistory | None:
        record = self.records.find_by_id(goal_id)
        return self.histories([record])[0] if record else None

    def histories(self, records: Iterable[dict]) -> list[GoalHistory]:
        records = list(records)
        ids = [record["_id"] for record in records]
        if not ids:
            return []
        revisions = self._by_goal(REVISIONS, ids, ("seq",))
        # Of two entries recorded at the same instant, the one stored later is the later one.
        entries = self._by_goal(PROGRESS, ids, ("recorded_at", "created_at"))
        claims = self._by_goal(CLAIMS, ids, ("at",))
        ratings = self._by_goal(RATINGS, ids, ("rated_at", "created_at"))
        return [
            GoalHistory(r, revisions[r["_id"]], entries[r["_id"]], claims[r["_id"]], (ratings[r["_id"]] or [None])[-1])
            for r in records
        ]

    def _by_goal(self, collection: str, goal_ids: list[str], order: tuple[str, ...]) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = defaultdict(list)
        documents = self.scoped(collection).find({"goal_id": {"$in": goal_ids}}, projection={"outbox": 0})
        for document in documents.sort([*((name, 1) for name in order), ("_id", 1)]):
            found[document["goal_id"]].append(document)
        return found

    def page(
        self, query: Mapping[str, Any], *, match: Mapping[str, Any], limit: int, cursor: str | None
    ) -> tuple[list[GoalHistory], str | None]:
        """A page of goals by creation time: those the database ``query`` finds whose current
        state has the values in ``match``.

        Status, therapist and parent can change after creation, so they are matched on the
        folded goal, not in the database: pages are read until ``limit`` goals match. The next
        cursor points after the last goal returned, so a filtered page may be followed by an
        empty one.
        """
        found: list[GoalHistory] = []
        while True:
            records, next_cursor = page(self.records, query, limit=limit, cursor=cursor)
            for index, history in enumerate(self.histories(records)):
                if all(history.goal[name] == value for name, value in match.items()):
                    found.append(history)
                if len(found) == limit:
                    more = index < len(records) - 1 or next_cursor is not None
                    return found, encode_cursor(records[index]["created_at"], records[index]["_id"]) if more else None
            if next_cursor is None:
                return found, None
            cursor = next_cursor

    def children(self, parent_ids: list[str]) -> dict[str, list[GoalHistory]]:
        """The sub-goals of each of ``parent_ids`` now: those created under one of them or
        moved under one by a revision, folded to drop those moved away since."""
        by_parent: dict[str, list[GoalHistory]] = defaultdict(list)
        if not parent_ids:
            return by_parent
        candidates = {r["_id"] for r in self.records.find({"parent_goal_id": {"$in": parent_ids}}, projection={"_id": 1})}
        moved = self.scoped(REVISIONS).find({"changes.parent_goal_id.to": {"$in": parent_ids}}, projection={"goal_id": 1})
        candidates |= {revision["goal_id"] for revision in moved}
        for history in sorted(self.of_ids(sorted(candidates)), key=lambda h: (h.created["created_at"], h.id)):
            if history.goal["parent_goal_id"] in parent_ids:
                by_parent[history.goal["parent_goal_id"]].append(history)
        return by_parent

    def of_client(self, client_id: str) -> list[GoalHistory]:
        return self.histories(self.records.find({"client_id": client_id}).sort([("created_at", 1), ("_id", 1)]))

    def of_ids(self, goal_ids: list[str]) -> list[GoalHistory]:
        return self.histories(self.records.find({"_id": {"$in": goal_ids}}))

    def append_revision(self, document: Mapping[str, Any]) -> None:
        """Insert a revision under its seq; SeqTaken when a concurrent change took the seq."""
        try:
            self.scoped(REVISIONS).insert_one(document)
        except DuplicateKeyError:
            raise SeqTaken(document["seq"]) from None

    def add_progress(self, document: Mapping[str, Any]) -> bool:
        """Insert a progress entry under its deterministic id; False when it was already there."""
        return self.scoped(PROGRESS).insert_once(document)

    def add_progress_for_request(self, route: str, body: Mapping[str, Any], build: Callable[[str], Mapping[str, Any]]) -> tuple[dict, bool]:
        return create_once(self.scoped(PROGRESS), route, body, build)

    def claim(self, document: Mapping[str, Any]) -> bool:
        """Make a claim (a milestone reached, a reminder raised): True when this call made it."""
        return self.scoped(CLAIMS).insert_once(document)

    def add_rating(self, route: str, body: Mapping[str, Any], build: Callable[[str], Mapping[str, Any]]) -> tuple[dict, bool]:
        return create_once(self.scoped(RATINGS), route, body, build)

    def entries_page(self, goal_id: str, *, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return page(self.scoped(PROGRESS), {"goal_id": goal_id}, limit=limit, cursor=cursor, order_field="recorded_at")

    def revisions_page(self, goal_id: str, *, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        # Revision times never go backwards (see actions.Goals._append) and ids end in the
        # zero-padded seq, so this is seq order.
        return page(self.scoped(REVISIONS), {"goal_id": goal_id}, limit=limit, cursor=cursor, order_field="at")

    def ratings_page(self, goal_id: str, *, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return page(self.scoped(RATINGS), {"goal_id": goal_id}, limit=limit, cursor=cursor, order_field="rated_at")


def due_soon_candidates(database: Database, first: str, last: str) -> dict[str, set[str]]:
    """Goals of every tenant whose target date, as created or as last revised, may fall in
    ``first``..``last`` (``YYYY-MM-DD``), by tenant. Callers fold each to check its current date."""
    window = {"$gte": first, "$lte": last}
    by_tenant: dict[str, set[str]] = defaultdict(set)
    for record in database[GOALS].find({"target_date": window}, {"tenant": 1}):
        by_tenant[record["tenant"]].add(record["_id"])
    for revision in database[REVISIONS].find({"changes.target_date.to": window}, {"tenant": 1, "goal_id": 1}):
        by_tenant[revision["tenant"]].add(revision["goal_id"])
    return by_tenant


def store_for(database: Database, tenant: str) -> GoalStore:
    """A tenant-wide store, for the worker acting on an event's or a job's tenant."""
    return GoalStore(database, Scope(tenant))
