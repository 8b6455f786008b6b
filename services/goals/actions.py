"""What the goals service does, for its routes and its worker alike.

Every change is an append to the goal's history (services/goals/README.md, "Data model"):

- a revision under the goal's next ``seq``. Its ``_id`` ends in the seq, so only one of two
  concurrent changes can take a number; the other re-reads the goal and decides again, so a
  status change is always checked against the status it replaces;
- a progress entry, once per ``Idempotency-Key`` (API) or per questionnaire response (worker);
- a claim under a deterministic id: a milestone reached, a due-soon reminder raised.

Events ride on those records, in the same insert. Bad input raises ``Problem`` before anything
is written. A writer announces its change before its first append and, after its appends,
rewrites the goal's current-goal document from the history (``_refresh``): see
``GoalStore.refresh`` for why that stays right under concurrent writers and after a crash.

Reading one goal (and answering a write) folds its history: one equality lookup, exact whatever
the state of the current-goal document (which a writer that stopped half-way leaves behind
until the worker repairs it), and a writer has just read that history anyway. Lists, sub-goals
and the score consumer read the current-goal documents, because they filter on the *current*
therapist, parent, status and measure, which only the fold knows.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from typing import Any, Callable, Iterable, Mapping, NamedTuple

from services.goals import events
from services.goals.adapters.store import MILESTONE_CLAIM, CurrentGoal, GoalHistory, GoalStore, SeqTaken
from services.goals.domain.attainment import DEFAULT_RHO, scale_errors, t_score
from services.goals.domain.dates import as_date
from services.goals.domain.deadlines import due_soon_from
from services.goals.domain.history import fold, next_seq
from services.goals.domain.lifecycle import InvalidTransition, is_open, transition
from services.goals.domain.measure import value_problem
from services.goals.domain.milestones import milestone_errors, reached_by
from services.goals.domain.progress import current_value, percent, target_met
from services.goals.domain.revisions import MEASURE_FIELDS, NotRevisable, diff, revise
from services.goals.domain.smart import assess, infer_direction
from services.goals.domain.validation import goal_errors, milestones_errors
from services.goals.views import goal_chart, goal_view, rounded
from shared.charts import Chart
from shared.clock import is_future
from shared.errors import Problem, invalid
from shared.events.outbox import with_events
from shared.idempotency import keyed_request
from shared.mongo import CLAIM_ATTEMPTS

GOAL_TEXT_FIELDS = ("client_id", "therapist_id", "title", "description", "category", "parent_goal_id")


class PlannedRevision(NamedTuple):
    """A revision to append: its kind, changes, reason, the events it carries, extra fields."""

    kind: str
    changes: dict
    reason: str | None
    raised: list
    extra: dict | None = None


def _iso(day) -> str | None:
    return None if day is None else day.isoformat()


def _milestone(given: Mapping[str, Any]) -> dict:
    """A milestone as stored: every field present, the due date as ``YYYY-MM-DD``."""
    return {"title": given["title"], "value": given.get("value"), "percent": given.get("percent"),
            "due_date": _iso(given.get("due_date"))}


@dataclass
class Goals:
    """The goals one caller may see (``store``'s scope), acted on at one moment by ``by``.

    ``due_soon_days`` is the ``DUE_SOON_DAYS`` setting: how long before its target date a goal's
    due-soon check is scheduled.
    """

    store: GoalStore
    now: datetime
    by: str | None
    due_soon_days: int
    # The instruments goals may be measured by (code -> score range); None: unknown, so neither an
    # instrument's existence nor its range is checked (the worker, which only feeds scores).
    ranges: Mapping[str, tuple[float, float]] | None = None
    # The refresh entries this caller put (GoalStore.announce), by goal, until its change is settled.
    _announced: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)

    @property
    def tenant(self) -> str:
        return self.store.scope.tenant

    @property
    def today(self):
        return self.now.date()

    # Reading

    def find(self, goal_id: str) -> GoalHistory:
        history = self.store.history(goal_id)
        if history is None:
            raise Problem(404, "No goal with this id")
        return history

    def current(self, goal_id: str) -> CurrentGoal:
        """The goal as it is now, folded from its history."""
        return self.find(goal_id).current()

    def chart(self, goal_id: str) -> Chart:
        """The goal's progress drawn, from every entry in its history."""
        history = self.find(goal_id)
        return goal_chart(history.current(), history.entries, self.now)

    def require(self, goal_id: str) -> None:
        """404 unless the goal is one the caller may see."""
        if not self.store.exists(goal_id):
            raise Problem(404, "No goal with this id")

    def views(self, goals: Iterable[CurrentGoal]) -> list[dict]:
        """The goals as shown, each with its sub-goals (``GoalStore.children``)."""
        goals = list(goals)
        children = self.store.children(goal.goal for goal in goals)
        return [goal_view(goal, self.today, children[goal.id]) for goal in goals]

    def view(self, goal: CurrentGoal) -> dict:
        return self.views([goal])[0]

    def listed(self, filters: Mapping[str, str], *, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        found, next_cursor = self.store.listed(filters, limit=limit, cursor=cursor)
        return self.views(found), next_cursor

    # Creating and revising

    def create(self, draft: Mapping[str, Any], *, route: str, body: Mapping[str, Any]) -> tuple[CurrentGoal, bool]:
        """Store a new goal (once per Idempotency-Key) with its SMART assessment; ``goal.created``."""
        goal = self.new_goal(draft)

        def build(goal_id: str) -> dict:
            # Called just before the insert: announced first, a goal is never stored without
            # something that brings its current-goal document about.
            self._announce(goal_id)
            return self.creation_record(goal, goal_id)

        record, created = self.store.create(route, body, build)
        # Also after a replay: a first attempt that stored the goal but died before its
        # current-goal document is completed by its retry.
        history = self._refresh(record["_id"], known=GoalHistory.of([record]) if created else None, deadline=True)
        return history.current(), created

    def new_goal(self, draft: Mapping[str, Any]) -> dict:
        """The goal ``draft`` describes, checked, completed and SMART-assessed (422 when invalid)."""
        goal: dict[str, Any] = {name: draft.get(name) for name in GOAL_TEXT_FIELDS}
        goal.update(
            start_date=_iso(draft.get("start_date")) or self.today.isoformat(),
            target_date=_iso(draft.get("target_date")),
            milestones=[_milestone(m) for m in draft.get("milestones") or ()],
        )
        goal["measure"] = self._complete_measure(draft.get("measure"), goal)
        errors = {**goal_errors(goal, self.ranges), **milestones_errors(goal["milestones"], goal["measure"])}
        parent_problem, parent = self._parent(goal, None)
        errors.update(parent_problem)
        if errors:
            raise invalid(errors)
        if goal["therapist_id"] is None and parent is not None:
            goal["therapist_id"] = parent.goal["therapist_id"]
        goal["smart"] = assess(goal, self.today, milestone_count=len(goal["milestones"]), instrument_ranges=self.ranges)
        return goal

    def creation_record(self, goal: Mapping[str, Any], goal_id: str) -> dict:
        """The creation record of ``goal`` (from ``new_goal``) under ``goal_id``, carrying ``goal.created``."""
        record = {**goal, "milestones": [{"id": str(uuid.uuid4()), **m} for m in goal["milestones"]],
                  "created_at": self.now, "created_by": self.by}
        stored = fold({"_id": goal_id, **record}, [])
        return with_events(record, [events.created(self.tenant, stored, self.now)], self.now)

    def _complete_measure(self, measure: Mapping[str, Any] | None, goal: Mapping[str, Any]) -> dict | None:
        """Every measure field present (None when not given), the direction filled in when the
        numbers or the wording say it, so later revisions of the numbers can't flip it silently."""
        if not measure:
            return None
        complete = {name: measure.get(name) for name in MEASURE_FIELDS}
        if complete["direction"] is None:
            complete["direction"] = infer_direction({**goal, "measure": complete})
        return complete

    def _parent(self, goal: Mapping[str, Any], goal_id: str | None) -> tuple[dict, GoalHistory | None]:
        """The parent goal, or an error: it must be a goal of the same client, and not the goal
        itself or one of its own sub-goals (which would make a loop)."""
        parent_id = goal.get("parent_goal_id")
        if parent_id is None:
            return {}, None
        parent = self.store.history(parent_id)
        if parent is None or parent.goal["client_id"] != goal["client_id"]:
            return {"parent_goal_id": ["No goal of this client has this id."]}, None
        ancestor: GoalHistory | None = parent
        seen: set[str] = set()
        while ancestor is not None and ancestor.id not in seen:
            if ancestor.id == goal_id:
                return {"parent_goal_id": ["A goal can't be a sub-goal of itself or of its own sub-goals."]}, None
            seen.add(ancestor.id)
            above = ancestor.goal["parent_goal_id"]
            ancestor = self.store.history(above) if above else None
        return {}, parent

    def revise(self, goal_id: str, patch: Mapping[str, Any], reason: str) -> CurrentGoal:
        """Apply a PATCH: one ``revise`` revision with the diff and a fresh SMART assessment;
        ``goal.revised``. A patch that changes nothing stores nothing. Progress is untouched."""
        patch = {name: _iso(value) if name in ("start_date", "target_date") else value for name, value in patch.items()}

        def plan(history: GoalHistory) -> PlannedRevision | None:
            before = history.goal
            try:
                after, _ = revise(before, patch)
            except NotRevisable as exc:
                raise invalid({name: ["This field can't be revised."] for name in exc.fields}) from None
            after["measure"] = self._complete_measure(after["measure"], after)
            changes = diff(before, after)
            if not changes:
                return None
            errors = goal_errors(after, self.ranges)
            if after["milestones"] and not after["measure"]:
                errors["measure"] = ["A goal with milestones needs a measure."]
            if "parent_goal_id" in changes:
                errors.update(self._parent(after, goal_id)[0])
            if errors:
                raise invalid(errors)
            subgoals = len(self.store.children([before])[goal_id])
            smart = assess(after, self.today, subgoal_count=subgoals, milestone_count=len(after["milestones"]),
                           instrument_ranges=self.ranges)
            raised = [events.revised(self.tenant, after, changes, reason, self.now)]
            return PlannedRevision("revise", changes, reason, raised, {"smart": smart})

        return self._change(goal_id, plan)

    def set_status(self, goal_id: str, status: str, reason: str | None) -> CurrentGoal:
        """Change the status if the lifecycle allows it (409 naming the allowed ones);
        ``goal.status_changed``, and ``goal.achieved`` when marked achieved."""

        def plan(history: GoalHistory) -> PlannedRevision:
            goal = history.goal
            try:
                transition(goal["status"], status)
            except InvalidTransition as exc:
                raise Problem(409, f"Not allowed: {exc}", current=exc.current, allowed=list(exc.allowed)) from None
            return self._status_change(goal, status, reason, automatically=False)

        return self._change(goal_id, plan)

    def _status_change(self, goal: Mapping[str, Any], status: str, reason: str | None, *, automatically: bool) -> PlannedRevision:
        raised = [events.status_changed(self.tenant, goal, goal["status"], status, reason, self.now)]
        if status == "achieved":
            raised.append(events.achieved(self.tenant, goal, automatically, self.now))
        extra = {"auto": True} if automatically else {}
        return PlannedRevision("status", {"status": {"from": goal["status"], "to": status}}, reason, raised, extra)

    def add_milestone(self, goal_id: str, milestone: Mapping[str, Any], reason: str | None, *, route: str,
                      body: Mapping[str, Any]) -> tuple[CurrentGoal, bool]:
        """Add a milestone (once per Idempotency-Key: the milestone's id is derived from it);
        ``goal.revised``. Returns the goal and whether the milestone is new."""
        request = keyed_request(self.tenant, route, body)
        milestone = _milestone(milestone)
        replayed = False

        def plan(history: GoalHistory) -> PlannedRevision | None:
            nonlocal replayed
            goal = history.goal
            earlier = next((r for r in history.revisions if r["kind"] == "milestone_added"
                            and r["changes"]["milestone"]["to"]["id"] == request.id), None)
            if earlier is not None:
                request.replay(earlier)
                replayed = True
                return None
            if not goal["measure"]:
                raise Problem(409, "Give the goal a measure before adding milestones.")
            errors = milestone_errors(milestone, goal["measure"])
            if errors:
                raise invalid(errors)
            changes = {"milestone": {"from": None, "to": {"id": request.id, **milestone}}}
            raised = [events.revised(self.tenant, goal, changes, reason, self.now)]
            return PlannedRevision("milestone_added", changes, reason, raised, {"idempotency": request.stamp})

        current = self._change(goal_id, plan)
        return current, not replayed

    def set_scale(self, goal_id: str, scale: Mapping[str, Any], reason: str | None) -> CurrentGoal:
        """Set the goal's attainment scale (five described levels and a weight); ``goal.revised``."""
        errors = scale_errors(scale)
        if errors:
            raise invalid(errors)
        scale = {"levels": {key: scale["levels"][key] for key in sorted(scale["levels"], key=int)},
                 "weight": scale.get("weight", 1)}

        def plan(history: GoalHistory) -> PlannedRevision | None:
            goal = history.goal
            if goal["attainment_scale"] == scale:
                return None
            changes = {"attainment_scale": {"from": goal["attainment_scale"], "to": scale}}
            raised = [events.revised(self.tenant, goal, changes, reason, self.now)]
            return PlannedRevision("attainment_scale", changes, reason, raised)

        return self._change(goal_id, plan)

    def _change(self, goal_id: str, plan: Callable[[GoalHistory], PlannedRevision | None]) -> CurrentGoal:
        """Append the revision ``plan`` makes (if any) and answer the goal as it is after. A new
        status or target date reschedules the goal's due-soon check."""
        history, revision = self._append(goal_id, plan)
        if revision is None:
            return history.current()
        deadline = revision["kind"] == "status" or "target_date" in revision["changes"]
        return self._refresh(goal_id, deadline=deadline).current()

    def _append(self, goal_id: str, plan: Callable[[GoalHistory], PlannedRevision | None],
                history: GoalHistory | None = None) -> tuple[GoalHistory, dict | None]:
        """Append the revision ``plan`` makes of the current goal under its next seq, re-reading
        and re-planning when a concurrent change took the seq first (``history``, when given,
        is the first attempt's reading). Returns the history the plan was made on and the
        revision appended, or None when the plan changed nothing."""
        # Changes to one goal are rarely concurrent (a therapist and a score at the same moment).
        for _ in range(CLAIM_ATTEMPTS):
            history = history or self.find(goal_id)
            change = plan(history)
            if change is None:
                return history, None
            goal = history.goal
            seq = next_seq(goal)
            revision = {
                # The zero-padded seq in the id, and a time that never goes backwards, make
                # (at, _id) order seq order for paging.
                "_id": f"{goal_id}:{seq:08d}", "goal_id": goal_id, "client_id": goal["client_id"], "seq": seq,
                "kind": change.kind, "changes": change.changes, "reason": change.reason, "by": self.by,
                "at": max(self.now, goal["updated_at"]), **(change.extra or {}),
            }
            self._announce(goal_id)
            try:
                self.store.append_revision(with_events(revision, change.raised, self.now))
            except SeqTaken:
                history = None
                continue
            return history, revision
        raise Problem(409, "The goal was changed by someone else at the same moment; read it again and retry.")

    # Keeping the current-goal documents

    def _announce(self, goal_id: str) -> None:
        """Before this caller's first append to the goal: see ``GoalStore.announce``."""
        if goal_id not in self._announced:
            self._announced[goal_id] = [self.store.announce(goal_id, self.now)]

    def _refresh(self, goal_id: str, *, known: GoalHistory | None = None, deadline: bool = False) -> GoalHistory:
        """After this caller's appends to the goal: rewrite its current-goal document from the
        history (``GoalStore.refresh``), schedule its due-soon check when asked, and only then
        withdraw the announcement. The history as folded last."""
        history, settled = self.store.refresh(goal_id, known)
        if history is not None and deadline:
            self._schedule_due_soon(history.goal)
        if settled:
            for ticket in self._announced.pop(goal_id, ()):
                self.store.settled(ticket)
        if history is None:  # erased since this caller's append
            raise Problem(404, "No goal with this id")
        return history

    def repair(self, goal_id: str) -> bool:
        """What the worker does for a change announced and not settled: refresh the goal's
        current-goal document and its due-soon check. True when the document is known right."""
        history, settled = self.store.refresh(goal_id)
        if history is not None:
            self._schedule_due_soon(history.goal)
        return settled

    def _schedule_due_soon(self, goal: Mapping[str, Any]) -> None:
        """Put the goal's due-soon check at the start of the first day it is due soon, if it is
        open and its target date is not past (a second put for the same date changes nothing)."""
        target = as_date(goal["target_date"])
        first_day = due_soon_from(target, self.due_soon_days)
        if not is_open(goal["status"]) or target is None or first_day is None or target < self.today:
            return
        due_at = datetime.combine(first_day, time(), tzinfo=timezone.utc)
        self.store.expect_deadline(goal["id"], goal["target_date"], due_at, self.now)

    # Progress

    def record_progress(self, goal_id: str, entry: Mapping[str, Any], source: str, *, route: str,
                        body: Mapping[str, Any]) -> tuple[CurrentGoal, bool]:
        """Log a progress entry (once per Idempotency-Key); ``goal.progress_recorded``, then
        its milestones and achievement (``follow_up_entry``). Returns the goal and whether the entry is new."""
        history = self.find(goal_id)
        goal = history.goal
        if not goal["measure"]:
            raise Problem(409, "This goal has no measure: log progress on its sub-goals, or give it a measure.")
        if goal["status"] == "abandoned":
            raise Problem(409, "This goal was abandoned: set its status to active to log progress again.")
        problem = value_problem(goal["measure"], entry["value"], self.ranges)
        if problem:
            raise invalid({"value": [f"The value ({entry['value']}) {problem}."]})
        recorded_at = entry.get("recorded_at") or self.now
        if is_future(recorded_at, self.now):
            raise invalid({"recorded_at": ["The time can't be in the future."]})

        self._announce(goal_id)
        stored, created = self.store.add_progress_for_request(
            route, body, lambda _entry_id: self.progress_entry(history, entry["value"], recorded_at, entry.get("note"), source))
        # Also after a replay: a first attempt that stored its entry but died before settling
        # is completed by its retry.
        return self.follow_up_entry(goal_id, stored["_id"]).current(), created

    def progress_entry(self, history: GoalHistory, value: float, recorded_at: datetime, note: str | None,
                       source: str) -> dict:
        """A progress entry of the goal, carrying ``goal.progress_recorded``."""
        stored = {"goal_id": history.id, "client_id": history.goal["client_id"], "value": value,
                  "recorded_at": recorded_at, "note": note, "source": source, "by": self.by, "created_at": self.now}
        return with_events(stored, [self._progress_event(history, stored)], self.now)

    def record_score(self, response_id: str, client_id: str, instrument: str, total: float,
                     recorded_at: datetime) -> int:
        """Feed a questionnaire score to the client's goals measured by that instrument (not
        abandoned ones). The entry id comes from the response and the goal, so a redelivered
        event adds nothing. Returns how many entries this call added.

        The goals are found on their current-goal documents (client and instrument), and each is
        checked again on its history before the entry is stored."""
        added = 0
        for candidate in self.store.measured_by(client_id, instrument):
            history = self.store.history(candidate.id)
            if history is None:
                continue
            measure = history.goal["measure"] or {}
            if measure.get("kind") != "instrument" or measure.get("instrument") != instrument:
                continue
            if history.goal["status"] == "abandoned":
                continue
            stored: dict[str, Any] = {"_id": f"score:{response_id}:{history.id}", "goal_id": history.id, "client_id": client_id,
                      "value": total, "recorded_at": recorded_at, "note": None, "source": "score", "by": None,
                      "response_id": response_id, "created_at": self.now}
            self._announce(history.id)
            added += self.store.add_progress(with_events(stored, [self._progress_event(history, stored)], self.now))
            self.follow_up_entry(history.id, stored["_id"])
        return added

    def _progress_event(self, history: GoalHistory, entry: Mapping[str, Any]) -> dict:
        goal = history.goal
        current = current_value([*history.entries, entry])
        assert current is not None  # the entries hold ``entry`` at least
        return events.progress_recorded(self.tenant, goal, entry, rounded(percent(goal["measure"], current)), self.now)

    def follow_up_entry(self, goal_id: str, entry_id: str) -> GoalHistory:
        """What a stored entry leads to: each milestone the current value newly passed is
        claimed once (``goal.milestone_reached``), and an open goal whose target is now met is
        achieved (``goal.status_changed``, ``goal.achieved``), once in its life, so a therapist
        who reopens it keeps that decision. Then the goal's current-goal document is refreshed.
        Safe to run again for the same entry. Returns the history folded last."""
        history = self.find(goal_id)
        goal = history.goal
        entry = next(e for e in history.entries if e["_id"] == entry_id)
        previous = current_value([e for e in history.entries if e["_id"] != entry_id])
        current = current_value(history.entries)
        assert current is not None  # the entries hold ``entry`` at least
        reached = history.reached()
        waiting = [m for m in goal["milestones"] if m["id"] not in reached]
        claimed = False
        for milestone in reached_by(waiting, previous, current, goal["measure"]):
            claim = {"_id": f"{goal_id}:milestone:{milestone['id']}", "goal_id": goal_id, "client_id": goal["client_id"],
                     "kind": MILESTONE_CLAIM, "milestone_id": milestone["id"], "entry_id": entry_id, "value": current,
                     "reached_at": entry["recorded_at"], "at": self.now}
            self._announce(goal_id)
            claimed |= self.store.claim(with_events(
                claim, [events.milestone_reached(self.tenant, goal, milestone, current, self.now)], self.now))
        # After a claim the achievement is planned on a fresh reading, which then holds every
        # record this caller appended, unless it appends the achievement too.
        history, revision = self._append(goal_id, self._achievement, None if claimed else history)
        return self._refresh(goal_id, known=history if revision is None else None)

    def _achievement(self, history: GoalHistory) -> PlannedRevision | None:
        goal = history.goal
        current = current_value(history.entries)
        if not is_open(goal["status"]) or goal["auto_achieved"] or not goal["measure"] or current is None:
            return None
        if not target_met(goal["measure"], current):
            return None
        return self._status_change(goal, "achieved", "The target was met.", automatically=True)

    def smart_check(self, draft: Mapping[str, Any]) -> dict:
        """A draft goal assessed against SMART, as it would be on creation; nothing is stored."""
        milestones = len(draft.get("milestones") or ())
        return assess(draft, self.today, milestone_count=milestones, instrument_ranges=self.ranges)

    # Goal attainment scaling

    def rate(self, goal_id: str, rating: Mapping[str, Any], *, route: str,
             body: Mapping[str, Any]) -> tuple[CurrentGoal, bool]:
        """Rate a scaled goal's attainment (-2..2), once per Idempotency-Key. Returns the goal
        and whether the rating is new."""
        history = self.find(goal_id)
        if history.goal["attainment_scale"] is None:
            raise Problem(409, "Set the goal's attainment scale before rating it.")
        rated_at = rating.get("rated_at") or self.now
        if is_future(rated_at, self.now):
            raise invalid({"rated_at": ["The time can't be in the future."]})

        def build(_rating_id: str) -> dict:
            return {"goal_id": goal_id, "client_id": history.goal["client_id"], "level": rating["level"],
                    "note": rating.get("note"), "rated_at": rated_at, "by": self.by, "created_at": self.now}

        self._announce(goal_id)
        _, created = self.store.add_rating(route, body, build)
        return self._refresh(goal_id).current(), created

    def client_attainment(self, client_id: str) -> dict:
        """The Kiresuk–Sherman T-score over the client's scaled goals at their latest rating."""
        used = []
        for goal in self.store.of_client(client_id):
            scale, latest = goal.goal["attainment_scale"], goal.latest_rating
            if scale is not None and latest is not None:
                used.append({"goal_id": goal.id, "title": goal.goal["title"], "level": latest["level"],
                             "weight": scale["weight"], "rated_at": latest["rated_at"]})
        score = t_score([(goal["level"], goal["weight"]) for goal in used], DEFAULT_RHO)
        return {"client_id": client_id, "t_score": None if score is None else round(score, 2), "rho": DEFAULT_RHO,
                "goals": used}
