"""MongoDB storage of goals: each goal's history in one collection, and its current state beside it.

``goal_history`` holds everything that happens to a goal, one document per fact, never updated:
its creation record (``_id`` = the goal's id), revisions, progress entries, claims and ratings.
Each carries ``tenant``, ``goal_id`` and ``record`` (the kind of fact) at the top level, so reading a
goal is one equality lookup on (tenant, goal_id) and paging its progress, revisions or ratings one
on (tenant, goal_id, record). Two writers meet only on inserts under derived ``_id``s: a
revision's seq (``<goal_id>:<seq:08d>``), a progress entry's Idempotency-Key or questionnaire
response, a milestone reached, a due-soon reminder raised.

``current_goals`` holds one document per goal: its current state (the fold of its history, the
progress entries the view needs, the milestones reached, the latest rating, the revisions), with
the fields that lists and lookups filter or sort on flattened at the top level (``client_id``,
``therapist_id``, ``parent_goal_id``, ``status``, ``instrument``, ``created_at``). It is a cache: every writer rewrites it whole from the history after its
append (``GoalStore.refresh``), and the worker repairs it after a writer stopped in between
(``announce``: a timetable entry put before the append and removed once the cache is right).

Every collection is read and written through the caller's scope, so another tenant's goal,
or for a client another client's goal, is simply not found.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping

from pymongo.errors import DuplicateKeyError

from services.goals.config import BY_STATUS, BY_TENANT, BY_THERAPIST, CURRENT, DEADLINES, HISTORY, REFRESHES
from services.goals.domain.history import fold
from services.goals.domain.progress import TREND_WINDOW
from shared.idempotency import create_once
from shared.mongo import Database, Scope, TenantRepository
from shared.paging import page
from shared.timetable import Timetable

# What each document of a goal's history records (its ``record`` field).
CREATED = "created"
REVISION = "revision"
ENTRY = "progress"
CLAIM = "claim"
RATING = "rating"

# Kinds of claim.
MILESTONE_CLAIM = "milestone_reached"
DUE_SOON_CLAIM = "due_soon"

# How a goal's records of each kind are ordered. Of two entries recorded at the same instant,
# the one stored later is the later one.
_ORDER: dict[str, Callable[[dict], Any]] = {
    REVISION: lambda r: r["seq"],
    ENTRY: lambda r: (r["recorded_at"], r["created_at"], r["_id"]),
    CLAIM: lambda r: (r["at"], r["_id"]),
    RATING: lambda r: (r["rated_at"], r["created_at"], r["_id"]),
}
# Fields of a history document that are bookkeeping, not part of the goal as shown.
_BOOKKEEPING = ("tenant", "record", "outbox", "idempotency")

# A writer re-reads the history after rewriting the current-goal document and rewrites it again
# while the history changed; after this many rounds it leaves the rest to the worker.
REFRESH_ROUNDS = 10
# When the worker refreshes a goal whose change was announced and not settled: well after any
# request could still be running (gunicorn's timeout is 30 s), so it repairs writers that died.
REFRESH_GRACE = timedelta(minutes=2)
# Timetable windows: a job reads each window from where it stopped to now with one lookup, and
# hands out an entry as soon as it is due whatever the window's width, so wide windows cost
# nothing in promptness and keep the lookups few. Due-soon checks fall due at the start of a day.
REFRESH_SLOT_SECONDS = 600
DEADLINE_SLOT_SECONDS = 86400


class SeqTaken(Exception):
    """Another change took this revision's seq first: re-read the goal and try again."""


def _bare(record: Mapping[str, Any]) -> dict:
    return {key: value for key, value in record.items() if key not in _BOOKKEEPING}


@dataclass(frozen=True)
class CurrentGoal:
    """A goal as the views need it: the folded goal, its last ``TREND_WINDOW`` progress entries
    (its current value and trend depend on no others), when its milestones were reached, its
    latest rating and its revisions.

    Built from the history (``GoalHistory.current``: exact) or read back from the goal's
    current-goal document (``from_document``), which is this, stored.
    """

    goal: dict
    entries: list[dict]
    reached: dict[str, datetime]
    latest_rating: dict | None
    revisions: list[dict]

    @property
    def id(self) -> str:
        return self.goal["id"]

    def document(self) -> dict:
        """The current-goal document: this, with the fields queries filter on at the top level."""
        goal = self.goal
        measure = goal["measure"] or {}
        return {
            "_id": goal["id"],
            "client_id": goal["client_id"],
            "therapist_id": goal["therapist_id"],
            "parent_goal_id": goal["parent_goal_id"],
            "status": goal["status"],
            "instrument": measure.get("instrument") if measure.get("kind") == "instrument" else None,
            "created_at": goal["created_at"],
            "goal": goal,
            "entries": self.entries,
            # A list, not a map keyed by milestone id: stored data never becomes a field name.
            "reached": [{"milestone_id": key, "reached_at": at} for key, at in self.reached.items()],
            "latest_rating": self.latest_rating,
            "revisions": self.revisions,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> CurrentGoal:
        reached = {claim["milestone_id"]: claim["reached_at"] for claim in document["reached"]}
        return cls(document["goal"], document["entries"], reached, document["latest_rating"], document["revisions"])


@dataclass
class GoalHistory:
    """Everything stored about one goal, each kind in order; ``goal`` is its current state."""

    created: dict
    revisions: list[dict]
    entries: list[dict]
    claims: list[dict]
    ratings: list[dict]

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]]) -> GoalHistory | None:
        """The history made of one goal's records (in any order), or None without its creation."""
        kinds: dict[str, list[dict]] = defaultdict(list)
        for record in records:
            kinds[record["record"]].append(dict(record))
        if not kinds[CREATED]:
            return None
        ordered = {kind: sorted(kinds[kind], key=order) for kind, order in _ORDER.items()}
        return cls(kinds[CREATED][0], ordered[REVISION], ordered[ENTRY], ordered[CLAIM], ordered[RATING])

    @property
    def id(self) -> str:
        return self.created["_id"]

    @cached_property
    def goal(self) -> dict:
        return fold(self.created, self.revisions)

    @property
    def record_ids(self) -> frozenset[str]:
        return frozenset(r["_id"] for r in (self.created, *self.revisions, *self.entries, *self.claims, *self.ratings))

    def reached(self) -> dict[str, dict]:
        """The claims of reached milestones by milestone id."""
        return {c["milestone_id"]: c for c in self.claims if c["kind"] == MILESTONE_CLAIM}

    @property
    def latest_rating(self) -> dict | None:
        return self.ratings[-1] if self.ratings else None

    def current(self) -> CurrentGoal:
        return CurrentGoal(
            goal=self.goal,
            entries=[_bare(entry) for entry in self.entries[-TREND_WINDOW:]],
            reached={key: claim["reached_at"] for key, claim in self.reached().items()},
            latest_rating=_bare(self.latest_rating) if self.latest_rating else None,
            revisions=[_bare(revision) for revision in self.revisions],
        )


def refreshes(database: Database) -> Timetable:
    """Changes announced and not yet settled in the current-goal documents (``GoalStore.announce``)."""
    return Timetable(database, REFRESHES, slot_seconds=REFRESH_SLOT_SECONDS)


def deadlines(database: Database) -> Timetable:
    """Goals falling due: one entry per goal and target date, due ``DUE_SOON_DAYS`` before it."""
    return Timetable(database, DEADLINES, slot_seconds=DEADLINE_SLOT_SECONDS)


class GoalStore(TenantRepository):
    collection_name = HISTORY

    @property
    def current_goals(self):
        return self.scoped(CURRENT)

    # A goal's history

    def create(self, route: str, body: Mapping[str, Any], build: Callable[[str], Mapping[str, Any]]) -> tuple[dict, bool]:
        """Insert a goal's creation record once per ``Idempotency-Key`` (see shared.idempotency).
        ``build(goal_id)`` is called just before the insert."""
        return create_once(self.records, route, body, lambda goal_id: {**build(goal_id), "goal_id": goal_id, "record": CREATED})

    def history(self, goal_id: str) -> GoalHistory | None:
        """The goal's history: one equality lookup (tenant, goal_id), or None when not in scope."""
        return GoalHistory.of(self.records.find({"goal_id": goal_id}, projection={"outbox": 0}))

    def exists(self, goal_id: str) -> bool:
        """Whether the goal is in scope, by its creation record's ``_id`` alone."""
        return self.records.find_by_id(goal_id) is not None

    def record_ids(self, goal_id: str) -> frozenset[str]:
        return frozenset(r["_id"] for r in self.records.find({"goal_id": goal_id}, projection={"_id": 1}))

    def append_revision(self, document: Mapping[str, Any]) -> None:
        """Insert a revision under its seq (its ``_id`` ends in it); SeqTaken when a concurrent
        change took the seq."""
        try:
            self.records.insert_one({**document, "record": REVISION})
        except DuplicateKeyError:
            raise SeqTaken(document["seq"]) from None

    def add_progress(self, document: Mapping[str, Any]) -> bool:
        """Insert a progress entry under its deterministic id; False when it was already there."""
        return self.records.insert_once({**document, "record": ENTRY})

    def add_progress_for_request(self, route: str, body: Mapping[str, Any], build: Callable[[str], Mapping[str, Any]]) -> tuple[dict, bool]:
        return create_once(self.records, route, body, lambda entry_id: {**build(entry_id), "record": ENTRY})

    def claim(self, document: Mapping[str, Any]) -> bool:
        """Make a claim (a milestone reached, a reminder raised): True when this call made it."""
        return self.records.insert_once({**document, "record": CLAIM})

    def add_rating(self, route: str, body: Mapping[str, Any], build: Callable[[str], Mapping[str, Any]]) -> tuple[dict, bool]:
        return create_once(self.records, route, body, lambda rating_id: {**build(rating_id), "record": RATING})

    def entries_page(self, goal_id: str, *, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return page(self.records, {"goal_id": goal_id, "record": ENTRY}, limit=limit, cursor=cursor, order_field="recorded_at")

    def revisions_page(self, goal_id: str, *, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        # Revision times never go backwards (see actions.Goals._append) and ids end in the
        # zero-padded seq, so this is seq order.
        return page(self.records, {"goal_id": goal_id, "record": REVISION}, limit=limit, cursor=cursor, order_field="at")

    def ratings_page(self, goal_id: str, *, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return page(self.records, {"goal_id": goal_id, "record": RATING}, limit=limit, cursor=cursor, order_field="rated_at")

    # The current-goal documents

    def announce(self, goal_id: str, now: datetime) -> str:
        """Before a change of the goal is stored: an entry in the ``goal_refreshes`` timetable,
        due ``REFRESH_GRACE`` later, that makes the worker refresh the goal unless the writer
        settles it (``settled``) first. One entry per writer, so one writer's settling never
        removes another's. Returns the entry's id."""
        ticket = f"{goal_id}:{uuid.uuid4().hex}"
        refreshes(self.database).put(ticket, now + REFRESH_GRACE, now, tenant=self.scope.tenant, goal_id=goal_id)
        return ticket

    def settled(self, ticket: str) -> None:
        """The announced change is in the current-goal document: the worker need not refresh it."""
        refreshes(self.database).done(ticket)

    def refresh(self, goal_id: str, known: GoalHistory | None = None) -> tuple[GoalHistory | None, bool]:
        """Rewrite the goal's current-goal document from its history until the history stands
        still. Returns the history folded last, and whether the document is known to reflect
        the whole history (False after ``REFRESH_ROUNDS`` rounds of concurrent changes).

        Why the document ends up right although FerretDB keeps only the last of concurrent
        writes: every writer calls this after its append, and returns True only when a read of
        the history *after* its write equals the history it wrote. Take the write that lands
        last, by writer W, of history H; W's re-read, after that write, found H. A record
        appended after the re-read was appended by a writer that calls this afterwards, so its
        write would land after W's, which is the last: there is none. A record appended before
        the re-read is in H. So the last write is of the whole history. A writer that stops
        between its append and this leaves its ``announce`` entry, and the worker calls this.

        ``known`` is a history already read that the first round may write without reading
        again (the re-read catches anything it lacks).
        """
        history = known or self.history(goal_id)
        for _ in range(REFRESH_ROUNDS):
            if history is None:
                return None, True
            self._write_current(history.current())
            if self.record_ids(goal_id) == history.record_ids:
                return history, True
            history = self.history(goal_id)
        return history, False

    def current_document(self, current: CurrentGoal) -> dict:
        """The current-goal document of ``current`` as stored: stamped for each long list the goal
        is on, each noting its period first, so no page misses the goal."""
        document = {**current.document(), "tenant": self.scope.tenant}
        listings = [BY_TENANT, BY_STATUS] + ([BY_THERAPIST] if document["therapist_id"] is not None else [])
        for listing in listings:
            document = listing.stamp(self.database, document)
        return document

    def _write_current(self, current: CurrentGoal) -> None:
        document = self.current_document(current)
        try:
            self.current_goals.replace_one({"_id": document["_id"]}, document, upsert=True)
        except DuplicateKeyError:
            # Two first writes of one goal's document at once: it exists now, replace it.
            self.current_goals.replace_one({"_id": document["_id"]}, document)

    def children(self, parents: Iterable[Mapping[str, Any]]) -> dict[str, list[CurrentGoal]]:
        """The sub-goals of each of ``parents`` (goals: ``id``, ``client_id``) now, by creation
        time, by parent id.

        One goal's are one lookup on the current parent, which finds them alone. For a page of
        goals that would be a lookup per goal; but a sub-goal is always a goal of its parent's
        client (``actions.Goals._parent``) and a client's goals are a small list, so instead
        each client's goals are read once, by equality on the client, and taken by their
        current parent: a page of a client's goals costs one lookup for all their sub-goals.
        """
        parents = list(parents)
        found: dict[str, list[CurrentGoal]] = {parent["id"]: [] for parent in parents}
        if len(parents) == 1:
            documents = self.current_goals.find({"parent_goal_id": parents[0]["id"]}).sort([("created_at", 1), ("_id", 1)])
            found[parents[0]["id"]] = [CurrentGoal.from_document(document) for document in documents]
            return found
        for client_id in sorted({parent["client_id"] for parent in parents}):
            for goal in self.of_client(client_id):
                if goal.goal["parent_goal_id"] in found:
                    found[goal.goal["parent_goal_id"]].append(goal)
        return found

    def of_client(self, client_id: str) -> list[CurrentGoal]:
        """The client's goals now, by creation time (a small list: one equality lookup)."""
        found = self.current_goals.find({"client_id": client_id}).sort([("created_at", 1), ("_id", 1)])
        return [CurrentGoal.from_document(document) for document in found]

    def measured_by(self, client_id: str, instrument: str) -> list[CurrentGoal]:
        """The client's goals whose measure is ``instrument`` now (equality on both)."""
        found = self.current_goals.find({"client_id": client_id, "instrument": instrument}).sort([("created_at", 1), ("_id", 1)])
        return [CurrentGoal.from_document(document) for document in found]

    def listed(self, filters: Mapping[str, str], *, limit: int, cursor: str | None,
               updated: Mapping[str, Any] | None = None) -> tuple[list[CurrentGoal], str | None]:
        """A page of the goals whose current ``client_id``, ``therapist_id``, ``parent_goal_id``
        and ``status`` are those in ``filters`` (any of them), by creation time; ``updated``: a
        condition on when the goal last changed, applied to the goals the list reads.

        Every filter is an equality on the current-goal documents. The list read is named by the
        most selective filter given: a goal's sub-goals and a client's goals are small lists
        (one query); a therapist's goals, a clinic's goals in one status and a clinic's goals
        grow without bound and are read a month at a time (``shared.paging.Listing``). The other
        filters narrow it. A client sees its own goals only: its id is its filter.
        """
        filters = dict(filters)
        if self.scope.client_id is not None:
            filters["client_id"] = self.scope.client_id
        narrowed = {"goal.updated_at": dict(updated)} if updated else {}
        if "parent_goal_id" in filters or "client_id" in filters:
            found, next_cursor = page(self.current_goals, {**filters, **narrowed}, limit=limit, cursor=cursor)
        else:
            listing = BY_THERAPIST if "therapist_id" in filters else BY_STATUS if "status" in filters else BY_TENANT
            values = {"tenant": self.scope.tenant, **{name: filters[name] for name in listing.key if name != "tenant"}}
            where = {**{name: value for name, value in filters.items() if name not in values}, **narrowed}
            found, next_cursor = listing.page(self.database, self.current_goals, values, limit=limit, cursor=cursor,
                                              where=where)
        return [CurrentGoal.from_document(document) for document in found], next_cursor

    # Deadlines

    def expect_deadline(self, goal_id: str, target_date: str, due_at: datetime, now: datetime) -> None:
        """Put the goal's due-soon check for ``target_date`` at ``due_at`` (once per goal and date)."""
        deadlines(self.database).put(f"{goal_id}:{target_date}", due_at, now, tenant=self.scope.tenant,
                                     goal_id=goal_id, target_date=target_date)


def store_for(database: Database, tenant: str) -> GoalStore:
    """A tenant-wide store, for the worker acting on an event's or a job's tenant."""
    return GoalStore(database, Scope(tenant))
