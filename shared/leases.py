"""Sharing pieces of work among replicas by claims on time windows (e.g. which relay replica
publishes which outbox partition).

Replicas cannot agree through updates of a shared document (FerretDB v1 loses concurrent ones);
they agree through inserts under unique ids. Time is cut into windows of ``window_seconds``:

- every live replica inserts a presence record for each window it works in;
- a piece is owned in window ``w`` by the replica that inserted the claim ``<piece>:<w>`` first.
  Shortly before ``w`` begins, each replica claims the pieces that fall to it: piece ``i`` goes to
  the replica whose rank among the members present in the last two windows is ``i % members``. A
  little after ``w`` begins, any replica claims the pieces nobody claimed (their replica died or
  has not been seen yet). A replica alone claims everything at once.

A piece changes hands without overlap, whatever the timing: the owner stops taking new work on a
piece it does not own next ``margin`` seconds before its window ends, and once the work in hand is
finished it *releases* the piece (an insert). The next owner starts on a piece only when its
previous owner released it, when it had none, or, if that owner died, ``takeover_seconds`` into
the window. As long as the membership is stable, every replica keeps its pieces window after
window and nothing waits.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Sequence

from shared.mongo import Database, Index, insert_once
from shared.periods import slot_of

log = logging.getLogger(__name__)

CLAIMS = "lease_claims"
MEMBERS = "lease_members"
# Claims, releases and presence records older than this many windows are deleted.
KEEP_WINDOWS = 6


def indexes() -> list[Index]:
    return [Index(CLAIMS, [("lease", 1), ("window", 1)]), Index(MEMBERS, [("lease", 1), ("window", 1)])]


class Leases:
    def __init__(
        self,
        database: Database,
        name: str,
        pieces: Sequence[str],
        *,
        window_seconds: int = 10,
        margin: float = 2.0,
        takeover_seconds: float = 5.0,
        member_id: str | None = None,
    ):
        self.database = database
        self.name = name
        self.pieces = tuple(pieces)
        self.window_seconds = window_seconds
        self.margin = margin
        self.takeover_seconds = takeover_seconds
        self.member_id = member_id or uuid.uuid4().hex
        self._mine: dict[int, set[str]] = {}
        self._usable: dict[int, set[str]] = {}
        self._released: set[tuple[str, int]] = set()
        self._present: set[int] = set()
        self._orphans_checked: set[int] = set()

    def owned(self, now: datetime) -> frozenset[str]:
        """The pieces this replica may work on at ``now`` (claiming what falls to it on the way)."""
        window = slot_of(now, self.window_seconds)
        into = now.timestamp() - window * self.window_seconds
        if window not in self._present:
            self._enter(window)
        if window not in self._mine:
            self._claim(window, self._preferred(window))
        if into >= min(1.0, self.window_seconds / 4) and window not in self._orphans_checked:
            self._orphans_checked.add(window)
            claimed = {doc["piece"] for doc in self.database[CLAIMS].find({"lease": self.name, "window": window})
                       if "piece" in doc}
            self._claim(window, [piece for piece in self.pieces if piece not in claimed])
        if into >= self.window_seconds - 2 * self.margin and window + 1 not in self._mine:
            self._enter(window + 1)
            self._claim(window + 1, self._preferred(window + 1))
        mine = self._mine.get(window, set())
        if into >= self.window_seconds - self.margin:
            # Stop in time on what another replica takes next; keep on with what is ours next too.
            mine = mine & self._mine.get(window + 1, set())
        return frozenset(piece for piece in mine if self._may_start(piece, window, into))

    def to_release(self, now: datetime) -> list[tuple[str, int]]:
        """(piece, window) this replica stopped working on and has not released yet."""
        window = slot_of(now, self.window_seconds)
        into = now.timestamp() - window * self.window_seconds
        leaving: list[tuple[str, int]] = []
        for held in (window - 1, window):
            if held == window and into < self.window_seconds - self.margin:
                continue
            for piece in self._mine.get(held, set()) - self._mine.get(held + 1, set()):
                if (piece, held) not in self._released:
                    leaving.append((piece, held))
        return leaving

    def release(self, piece: str, window: int) -> None:
        """Say that this replica's work on ``piece`` in ``window`` is finished (the next owner starts)."""
        insert_once(self.database[CLAIMS], {"_id": self._release_id(piece, window), "lease": self.name,
                                           "window": window, "released": piece, "member": self.member_id})
        self._released.add((piece, window))

    def _may_start(self, piece: str, window: int, into: float) -> bool:
        usable = self._usable.setdefault(window, set())
        if piece in usable:
            return True
        if piece in self._mine.get(window - 1, set()) or into >= self.takeover_seconds:
            usable.add(piece)
            return True
        before = self.database[CLAIMS].find_one({"_id": self._claim_id(piece, window - 1)})
        if before is None or before["member"] == self.member_id or \
                self.database[CLAIMS].find_one({"_id": self._release_id(piece, window - 1)}) is not None:
            usable.add(piece)
            return True
        return False

    def _claim_id(self, piece: str, window: int) -> str:
        return f"{self.name}:{piece}:{window}"

    def _release_id(self, piece: str, window: int) -> str:
        return f"{self.name}:{piece}:{window}:released"

    def _enter(self, window: int) -> None:
        insert_once(
            self.database[MEMBERS],
            {"_id": f"{self.name}:{window}:{self.member_id}", "lease": self.name, "window": window,
             "member": self.member_id},
        )
        self._present = {w for w in self._present if w >= window - 1} | {window}
        old = window - KEEP_WINDOWS
        self.database[MEMBERS].delete_many({"lease": self.name, "window": old})
        self.database[CLAIMS].delete_many({"lease": self.name, "window": old})
        self._mine = {w: pieces for w, pieces in self._mine.items() if w >= window - 2}
        self._usable = {w: pieces for w, pieces in self._usable.items() if w >= window - 1}
        self._released = {(p, w) for p, w in self._released if w >= window - 2}
        self._orphans_checked = {w for w in self._orphans_checked if w >= window - 1}

    def _preferred(self, window: int) -> list[str]:
        members = {self.member_id}
        for seen in (window, window - 1):
            members |= {doc["member"] for doc in self.database[MEMBERS].find({"lease": self.name, "window": seen})}
        ranked = sorted(members)
        rank, count = ranked.index(self.member_id), len(ranked)
        return [piece for index, piece in enumerate(self.pieces) if index % count == rank]

    def _claim(self, window: int, pieces: Sequence[str]) -> None:
        mine = self._mine.setdefault(window, set())
        for piece in pieces:
            if piece in mine:
                continue
            claim = {"_id": self._claim_id(piece, window), "lease": self.name, "window": window,
                     "piece": piece, "member": self.member_id}
            if insert_once(self.database[CLAIMS], claim):
                mine.add(piece)
