"""The goals' storage against the real server: concurrent writers on one goal, the current-goal
documents kept equal to the fold of the history, their repair after a writer stopped half-way,
and long lists read a month at a time."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest

from services.goals import config
from services.goals.actions import Goals
from services.goals.jobs import raise_due_soon, refresh_announced
from services.goals.adapters.store import REFRESH_GRACE, GoalStore, store_for
from services.goals.domain.lifecycle import ALLOWED, INITIAL_STATUS
from services.goals.handlers import score_handler
from shared.mongo import Database, Scope
from shared.paging import period_field
from tests.service.goals.conftest import START
from tests.support.goals import counts, phq9_goal, scored, stored_events, walking_goal

pytestmark = pytest.mark.service

THREADS, OPERATIONS = 6, 20


@pytest.fixture
def database(harness):
    opened = Database(harness.mongo_url, harness.database_name("goals"), config.INDEXES)
    yield opened
    opened.close()


def cached_and_folded(database: Database, goal_id: str, tenant: str = "clinic-a") -> tuple[dict, dict]:
    """The goal's current-goal document as stored (without its tenant and list stamp), and as
    folded from its history now."""
    stored = database[config.CURRENT].find_one({"_id": goal_id})
    history = store_for(database, tenant).history(goal_id)
    assert stored is not None and history is not None, f"goal {goal_id} is stored"
    cached = {key: value for key, value in stored.items() if key not in ("tenant", period_field("month"))}
    return cached, history.current().document()


def in_parallel(work, count: int = THREADS) -> list:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return [result for results in pool.map(work, range(count)) for result in results]


def test_concurrent_progress_and_status_changes_keep_every_entry_and_a_legal_history(api, db, database):
    goal = api.create()  # PHQ-9 from 16 to 9
    path = f"/v1/goals/{goal['id']}"
    progress_threads = 4
    # Distinct times, so that the current value is known: the one entry at the target (9) is
    # the latest; every other is earlier and above the target.
    last = progress_threads * OPERATIONS - 1

    def recorded_at(thread: int, operation: int) -> str:
        index = thread * OPERATIONS + operation
        return (START - timedelta(minutes=last - index)).isoformat().replace("+00:00", "Z")

    def log_progress(thread: int) -> list[tuple[str, int]]:
        answers = []
        for operation in range(OPERATIONS):
            value = 9 if thread == progress_threads - 1 and operation == OPERATIONS - 1 else 10 + operation % 6
            body = {"value": value, "recorded_at": recorded_at(thread, operation)}
            key = {"Idempotency-Key": f"entry-{thread}-{operation}"}
            answers.append(("log", api.post(f"{path}/progress", body, headers=key).status_code))
            if operation % 5 == 0:  # a client retrying: the same entry, not a second one
                again = api.post(f"{path}/progress", body, headers=key)
                answers.append(("retry", again.status_code if again.headers.get("Idempotent-Replayed") == "true" else 0))
        return answers

    def change_status(thread: int) -> list[tuple[str, int]]:
        return [("status", api.post(f"{path}/status", {"status": ("on_hold", "active")[(thread + operation) % 2]}).status_code)
                for operation in range(OPERATIONS)]

    answers = in_parallel(lambda thread: log_progress(thread) if thread < progress_threads else change_status(thread))

    assert {code for kind, code in answers if kind in ("log", "retry")} == {201}
    assert {code for kind, code in answers if kind == "status"} <= {200, 409}
    assert counts(db)["progress"] == progress_threads * OPERATIONS, "every entry stored once"
    assert len(stored_events(db, "goal.progress_recorded")) == progress_threads * OPERATIONS

    shown = api.get(path).json
    revisions = shown["revisions"]
    assert [r["seq"] for r in revisions] == list(range(1, len(revisions) + 1))
    status = INITIAL_STATUS
    for revision in revisions:
        change = revision["changes"]["status"]
        assert change["from"] == status and change["to"] in ALLOWED[status], revisions
        status = change["to"]
    assert shown["status"] == status
    [automatic] = [r for r in revisions if r["reason"] == "The target was met."]
    assert automatic["changes"]["status"]["to"] == "achieved"
    assert len(revisions) - 1 == sum(1 for kind, code in answers if kind == "status" and code == 200), \
        "each status change answered 200 is in the history, once"
    [achieved] = stored_events(db, "goal.achieved")
    assert achieved["data"]["how"] == "target_met"
    assert shown["progress"]["current"] == 9

    cached, folded = cached_and_folded(database, goal["id"])
    assert cached == folded
    [listed] = api.get("/v1/goals", params={"client_id": "client-1"}).json["items"]
    assert listed == shown, "the list (from the current-goal document) shows what the history says"


def test_concurrent_retries_of_one_request_store_it_once(api, db, database):
    def burst(path: str, body: dict, key: str, method: str = "POST") -> list[dict]:
        def send(_thread: int) -> list:
            response = api.call(method, path, body, headers={"Idempotency-Key": key})
            assert response.status_code == 201, response.text
            return [response.json]
        return in_parallel(send)

    [goal_id] = {goal["id"] for goal in burst("/v1/goals", phq9_goal(), "create-1")}
    scale = {"levels": {level: f"Level {level}" for level in ("-2", "-1", "0", "1", "2")}}
    assert api.put(f"/v1/goals/{goal_id}/attainment-scale", scale).status_code == 200
    burst(f"/v1/goals/{goal_id}/progress", {"value": 14}, "entry-1")
    burst(f"/v1/goals/{goal_id}/milestones", {"title": "Out of moderate", "value": 11}, "milestone-1")
    burst(f"/v1/goals/{goal_id}/attainment", {"level": 1}, "rating-1")

    assert counts(db) == {"created": 1, "revision": 2, "progress": 1, "claim": 0, "rating": 1, config.CURRENT: 1}
    shown = api.get(f"/v1/goals/{goal_id}").json
    assert len(shown["milestones"]) == 1 and shown["attainment"]["latest"]["level"] == 1
    cached, folded = cached_and_folded(database, goal_id)
    assert cached == folded


def test_concurrent_scores_for_one_response_add_one_entry(api, db, database, clock):
    goal = api.create()
    anxiety = api.create(phq9_goal(title="Bring my GAD-7 score below 5 by breathing exercises daily",
                                   measure={"kind": "instrument", "instrument": "gad7", "baseline": 12, "target": 4}))
    handle = score_handler(database, clock, 7)
    response_id = str(uuid.uuid4())

    def deliver(_thread: int) -> list[None]:
        # Each a different event (a redelivery with a new id, a replay) about the same response.
        return [handle(scored(12, response_id=response_id)) for _ in range(OPERATIONS)]

    in_parallel(deliver)

    [entry] = api.get(f"/v1/goals/{goal['id']}/progress").json["items"]
    assert entry["value"] == 12 and entry["source"] == "score"
    assert len(stored_events(db, "goal.progress_recorded")) == 1
    assert api.get(f"/v1/goals/{anxiety['id']}/progress").json["items"] == []
    cached, folded = cached_and_folded(database, goal["id"])
    assert cached == folded and cached["entries"][0]["_id"] == entry["id"]


class StopsBeforeItsRewrite(GoalStore):
    """A store whose process dies between a change's append and the rewrite of the goal's
    current-goal document (the real store otherwise, on the real server)."""

    def refresh(self, goal_id, known=None):
        raise SystemExit("the process stopped here")


def test_a_change_whose_writer_stopped_half_way_is_completed_by_the_worker(api, db, database, clock):
    goal = api.create()  # target date 2026-03-30

    def stopping() -> Goals:
        return Goals(StopsBeforeItsRewrite(database, Scope("clinic-a")), now=clock.now(), by="therapist-1", due_soon_days=7)

    with pytest.raises(SystemExit):
        stopping().revise(goal["id"], {"target_date": date(2026, 1, 10)}, "A first step")
    with pytest.raises(SystemExit):
        stopping().record_score("response-1", "client-1", "phq9", 12, clock.now())

    def listed() -> dict:
        [item] = api.get("/v1/goals", params={"client_id": "client-1"}).json["items"]
        return item

    shown = api.get(f"/v1/goals/{goal['id']}").json
    assert shown["target_date"] == "2026-01-10" and shown["progress"]["current"] == 12, "a goal is read from its history"
    assert listed()["target_date"] == "2026-03-30" and listed()["progress"]["current"] is None, "the list lags behind"
    assert db[config.REFRESHES].count_documents({"goal_id": goal["id"]}) == 2

    assert refresh_announced(database, clock.now(), 7) == 0, "writers get time to finish"
    clock.advance(seconds=REFRESH_GRACE.total_seconds() + 1)
    assert refresh_announced(database, clock.now(), 7) == 2
    assert listed() == api.get(f"/v1/goals/{goal['id']}").json
    cached, folded = cached_and_folded(database, goal["id"])
    assert cached == folded
    assert db[config.REFRESHES].count_documents({}) == 0
    # The due-soon check of the new date was scheduled by the repair: the goal falls due now.
    assert raise_due_soon(database, clock.now(), 7) == 1
    [event] = stored_events(db, "goal.due_soon")
    assert event["data"]["target_date"] == "2026-01-10"


def test_long_lists_page_by_creation_time_across_months_with_current_filters(api, clock):
    made = []
    for month in range(5):
        for therapist in ("therapist-1", "therapist-2"):
            made.append((therapist, api.create(walking_goal(therapist_id=therapist, client_id=f"client-{month}"))["id"]))
            clock.advance(minutes=1)
        clock.advance(days=31)
    mine = [goal_id for therapist, goal_id in made if therapist == "therapist-1"]
    api.post(f"/v1/goals/{mine[1]}/status", {"status": "on_hold"})
    api.post(f"/v1/goals/{mine[3]}/status", {"status": "on_hold"})
    api.patch(f"/v1/goals/{made[1][1]}", {"therapist_id": "therapist-1", "reason": "Handed over"})

    def every_page(**query) -> list[str]:
        seen, cursor = [], None
        while True:
            page = api.get("/v1/goals", params={**query, "limit": 2, **({"cursor": cursor} if cursor else {})}).json
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen

    everything = [goal_id for _, goal_id in made]
    assert every_page() == everything
    assert every_page(therapist_id="therapist-1") == [mine[0], made[1][1], *mine[1:]]
    assert every_page(therapist_id="therapist-1", status="on_hold") == [mine[1], mine[3]]
    assert every_page(status="active") == [goal_id for goal_id in everything if goal_id not in (mine[1], mine[3])]
    assert every_page(status="achieved") == []


def test_due_soon_jobs_running_at_once_raise_one_event_per_goal(api, db, database, clock):
    due = [api.create(walking_goal(title=f"Walk {minutes} minutes after lunch", target_date="2026-01-09"))["id"]
           for minutes in (10, 20, 30)]
    api.create(walking_goal(target_date="2026-03-16"))
    start = threading.Barrier(THREADS)

    def replica(_thread: int) -> list[int]:
        start.wait()
        return [raise_due_soon(database, clock.now(), 7)]

    assert sum(in_parallel(replica)) == len(due)
    assert sorted(event["data"]["goal_id"] for event in stored_events(db, "goal.due_soon")) == sorted(due)
    assert db[config.HISTORY].count_documents({"record": "claim", "kind": "due_soon"}) == len(due)


def test_a_due_soon_check_scheduled_with_more_days_waits_for_the_days_now_set(api, db, database, clock):
    goal = api.create(walking_goal(target_date="2026-01-20"))  # checked from 2026-01-13 with 7 days
    clock.set(datetime(2026, 1, 13, 8, 0, tzinfo=timezone.utc))
    assert raise_due_soon(database, clock.now(), 3) == 0, "with 3 days it is due soon from the 17th"
    [check] = db[config.DEADLINES].find({"goal_id": goal["id"]})
    assert check["due_at"] == datetime(2026, 1, 17, tzinfo=timezone.utc)
    clock.set(datetime(2026, 1, 17, 0, 5, tzinfo=timezone.utc))
    assert raise_due_soon(database, clock.now(), 3) == 1
    assert db[config.DEADLINES].count_documents({}) == 0
