"""Work due at a time, found by indexed equality lookups: how every periodic job finds its work.

A periodic job (reminders, deliveries, escalations, goals falling due, retention) must find what
is due now without reading everything that might one day be due. MongoDB answers a range query
on a time with an index; FerretDB v1 fetches every document and compares times in Go. So each
entry of a timetable carries ``slot``, the number of the time window its due time falls in, and
a job reads the windows between where it stopped and now, each with an equality lookup: its cost
is the work due, whatever the collection holds.

An entry leaves the timetable once it is handled (``done``) or moved to a later time
(``move``). The job's cursor stays ``overlap`` behind its clock and never passes a window that
still holds entries, so

- an entry put by a writer whose clock lags, or who paused before inserting, is still found;
- an entry whose handler failed is found again (handlers that keep failing should ``move`` the
  entry to a later time, so that it does not hold the cursor back).

Entries are put under ids the caller derives (one entry per thing to do), with ``insert_once``:
putting the same entry twice is harmless. Several replicas may read the same windows at once:
what a handler does must be idempotent (claims with ``insert_once``), as every job's effect is.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator, Mapping, Sequence

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.mongo import Database, Index, insert_once
from shared.periods import slot_of

log = logging.getLogger(__name__)

CURSORS = "timetable_cursors"
# Beyond this many windows to walk, the windows that hold entries are read in one go.
MAX_WINDOWS_WALKED = 60


class Timetable:
    """Entries in ``collection``: ``{_id, slot, due_at, ...}``, read a window at a time."""

    def __init__(
        self,
        database: Database,
        collection: str,
        *,
        slot_seconds: int = 60,
        overlap: timedelta = timedelta(minutes=5),
    ):
        self.database = database
        self.collection = collection
        self.slot_seconds = slot_seconds
        self.overlap = overlap

    @staticmethod
    def indexes(collection: str) -> list[Index]:
        return [Index(collection, [("slot", 1), ("due_at", 1)])]

    @property
    def entries(self) -> Collection[dict[str, Any]]:
        return self.database[self.collection]

    def slot(self, moment: datetime) -> int:
        return slot_of(moment, self.slot_seconds)

    def put(self, entry_id: str, due_at: datetime, now: datetime, **fields: Any) -> bool:
        """Schedule ``entry_id`` at ``due_at``; False when that entry is scheduled already.

        An entry already due goes in the current window, never one the job has passed.
        """
        slot = max(self.slot(due_at), self.slot(now))
        return insert_once(self.entries, {**fields, "_id": entry_id, "slot": slot, "due_at": due_at})

    def done(self, entry_id: str) -> None:
        self.entries.delete_one({"_id": entry_id})

    def move(self, entry: Mapping[str, Any], new_id: str, due_at: datetime, now: datetime) -> None:
        """Schedule the entry's work again at ``due_at`` under ``new_id``, then drop the old entry
        (a crash between the two leaves both: the job handles the work twice, idempotently)."""
        fields = {key: value for key, value in entry.items() if key not in ("_id", "slot", "due_at")}
        self.put(new_id, due_at, now, **fields)
        if new_id != entry["_id"]:
            self.done(entry["_id"])

    def due(self, now: datetime, limit: int) -> Iterator[dict[str, Any]]:
        """Entries due by ``now``, oldest window first, at most ``limit``; the cursor moves on
        once the generator is exhausted (call ``run`` unless you need the entries themselves)."""
        cursors = self.database[CURSORS]
        state = cursors.find_one({"_id": self.collection})
        start = state["slot"] if state else self._first_start(now)
        keep_from = self.slot(now - self.overlap)
        first_given: int | None = None
        given = 0
        for slot in self._windows(start, self.slot(now) + 1):
            stopped = False
            for entry in self.entries.find({"slot": slot}).sort("due_at", 1):
                if entry["due_at"] > now or given == limit:
                    stopped = True
                    break
                first_given = slot if first_given is None else first_given
                given += 1
                yield entry
            if stopped:
                keep_from = min(keep_from, slot)
                break
        # Windows read empty are passed for good; one an entry was handed out from is passed
        # only if its handler emptied it (done or moved).
        if first_given is not None:
            keep_from = self._first_occupied(first_given, keep_from)
        if state is None or keep_from != start:
            try:
                cursors.replace_one({"_id": self.collection}, {"slot": keep_from}, upsert=True)
            except DuplicateKeyError:
                pass  # another replica wrote its cursor first; either is right

    def run(self, now: datetime, handle: Callable[[dict[str, Any]], None], *, limit: int = 200,
            retry_after: timedelta = timedelta(minutes=1)) -> int:
        """Hand each due entry to ``handle``, which calls ``done`` or ``move`` when it is finished
        with it. A handler that raises (other than a database error, which stops the round) has its
        entry moved ``retry_after`` later, so one broken entry cannot hold up the others."""
        handled = 0
        for entry in self.due(now, limit):
            try:
                handle(entry)
            except PyMongoError:
                raise
            except Exception:
                log.exception("scheduled work failed; it will be tried again",
                              extra={"timetable": self.collection, "entry_id": entry["_id"]})
                self.move(entry, f"{entry['_id']}~{self.slot(now)}", now + retry_after, now)
            handled += 1
        return handled

    def _first_start(self, now: datetime) -> int:
        """Where a job's first round starts: at the earliest entry, put before any job ran (the
        timetable holds only pending work, so reading it once, on the first round, is cheap)."""
        slots: list[int] = [entry["slot"] for entry in self.entries.find({}, {"slot": 1})]
        return min([*slots, self.slot(now - self.overlap)])

    def _windows(self, start: int, stop: int) -> Sequence[int]:
        """The windows from ``start`` up to ``stop`` that may hold entries: every one when they are
        few; after a long stop or a clock jump, only those that do, from one read of the whole
        timetable (it holds only pending work: cheaper than a lookup per empty window)."""
        if stop - start <= MAX_WINDOWS_WALKED:
            return range(start, stop)
        return sorted({e["slot"] for e in self.entries.find({}, {"slot": 1}) if start <= e["slot"] < stop})

    def _first_occupied(self, start: int, stop: int) -> int:
        for slot in self._windows(start, stop):
            if self.entries.find_one({"slot": slot}, {"_id": 1}) is not None:
                return slot
        return stop
