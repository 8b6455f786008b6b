"""Concurrent writers against the real server, at every place two writers can meet: a series'
places, an Idempotency-Key, an occurrence's fulfilment, a cancellation, and the reminder job
(two at once, and racing a cancellation). Each asserts the exact outcome."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from services.questionnaires import config
from services.questionnaires.adapters.assignments import ReminderLedger
from services.questionnaires.jobs import raise_reminders
from shared.journal import JOURNAL
from shared.mongo import Database
from tests.support.questionnaires import gad7, phq9

pytestmark = pytest.mark.service

THREADS = 6
GRACE = timedelta(hours=48)  # OVERDUE_AFTER_HOURS' default, which the service runs with here


def together(count: int, task) -> list:
    """Run ``task(i)`` for i in 0..count-1 on ``count`` threads released at the same moment."""
    start = threading.Barrier(count)

    def run(i):
        start.wait()
        return task(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_submissions_for_one_series_take_every_place_once(service):
    per_thread = 10

    def submit_all(thread: int) -> list[dict]:
        made = []
        for n in range(per_thread):
            body = {"client_id": "client-1", "instrument": "phq9", "answers": phq9((thread * per_thread + n) % 25)}
            key = {"Idempotency-Key": f"{thread}-{n}"}
            answer = service.post("/v1/responses", body, headers=key)
            # Six writers on one series without a pause lose the race for a place often enough
            # to run out of tries (a 409 that stored nothing): the caller tries again, as told.
            while answer.status_code == 409:
                assert answer.json["detail"].startswith("Other responses for this client"), answer.text
                answer = service.post("/v1/responses", body, headers=key)
            assert answer.status_code == 201, answer.text
            made.append(answer.json)
        return made

    answers = [response for made in together(THREADS, submit_all) for response in made]
    by_seq = {response["seq"]: response for response in answers}
    assert sorted(by_seq) == list(range(1, THREADS * per_thread + 1))  # no gap, no place taken twice

    stored = {doc["seq"]: doc for doc in service.database["responses"].find({"client_id": "client-1"})}
    assert sorted(stored) == sorted(by_seq)
    first = by_seq[1]
    for seq in range(2, len(by_seq) + 1):
        # Each compared with the response really recorded before it, and with the first.
        assert stored[seq]["compared_with"]["previous"]["response_id"] == by_seq[seq - 1]["id"]
        assert stored[seq]["compared_with"]["baseline"]["response_id"] == first["id"]
        change = by_seq[seq]["change"]
        assert change["previous_total"] == by_seq[seq - 1]["score"]["total"]
        assert change["baseline_total"] == first["score"]["total"]
        assert change["delta"] == by_seq[seq]["score"]["total"] - first["score"]["total"]


def test_one_idempotency_key_submitted_at_once_stores_one_response_and_one_event(service):
    rounds = 4
    for round_ in range(rounds):
        key = {"Idempotency-Key": f"same-{uuid.uuid4()}"}
        body = {"client_id": "client-2", "instrument": "phq9", "answers": phq9(10 + round_, item9=1)}
        answers = together(THREADS, lambda _, body=body, key=key: service.post("/v1/responses", body, headers=key))
        assert [answer.status_code for answer in answers] == [201] * THREADS, [a.text for a in answers]
        assert len({answer.json["id"] for answer in answers}) == 1
        assert len({str(answer.json) for answer in answers}) == 1
        assert [answer.headers.get("Idempotent-Replayed") for answer in answers].count("true") == THREADS - 1

    stored = list(service.database["responses"].find({"client_id": "client-2"}))
    assert sorted(doc["seq"] for doc in stored) == list(range(1, rounds + 1))
    # One journal entry per response (no relay runs here), each with its two events once.
    entries = list(service.database[JOURNAL].find({"collection": "responses"}))
    assert sorted(entry["record_id"] for entry in entries) == sorted(doc["_id"] for doc in stored)
    kinds = sorted(event["type"] for entry in entries for event in entry["events"])
    assert kinds == sorted(["stepwise.risk.flagged.v1", "stepwise.questionnaire.scored.v1"] * rounds)


def test_one_idempotency_key_assigning_at_once_makes_one_assignment(service):
    key = {"Idempotency-Key": f"assign-{uuid.uuid4()}"}
    body = {"client_id": "client-3", "instrument": "gad7", "every_days": 7}
    answers = together(THREADS, lambda _: service.post("/v1/assignments", body, headers=key))
    assert [answer.status_code for answer in answers] == [201] * THREADS
    assert len({answer.json["id"] for answer in answers}) == 1
    assert service.database["assignments"].count_documents({}) == 1
    assignment_id = answers[0].json["id"]
    assert sorted(doc["_id"] for doc in service.database[config.REMINDER_TIMETABLE].find()) == [
        f"{assignment_id}:0:due", f"{assignment_id}:0:overdue"]


def test_responses_to_one_occurrence_at_once_fulfil_it_once(service):
    assignment = service.post("/v1/assignments", {"client_id": "client-4", "instrument": "gad7"}).json
    answers = together(THREADS, lambda i: service.post(
        "/v1/responses", {"client_id": "client-4", "instrument": "gad7", "answers": gad7(i),
                          "assignment_id": assignment["id"]}))
    assert [answer.status_code for answer in answers] == [201] * THREADS
    assert {answer.json["occurrence"] for answer in answers} == {0}  # every one is kept and scored
    [fulfilment] = service.database["fulfilments"].find()
    assert fulfilment["response_id"] in {answer.json["id"] for answer in answers}
    state = service.get(f"/v1/assignments/{assignment['id']}").json
    assert state["status"] == "completed" and state["current"]["response_id"] == fulfilment["response_id"]


def test_cancelling_at_once_keeps_one_cancellation(service):
    assignment = service.post("/v1/assignments", {"client_id": "client-5", "instrument": "gad7", "every_days": 7}).json
    answers = together(THREADS, lambda i: service.post(f"/v1/assignments/{assignment['id']}/cancel",
                                                       {"reason": f"reason {i}"}))
    assert [answer.status_code for answer in answers] == [200] * THREADS
    [stored] = service.database["assignment_cancellations"].find()
    assert {answer.json["cancellation"]["reason"] for answer in answers} == {stored["reason"]}


@pytest.fixture
def two_jobs(service):
    """Two reminder jobs, each on its own connection to the service's database, as two workers."""
    databases = [Database(service.harness.mongo_url, service.database.name, config.INDEXES) for _ in range(2)]
    ledgers = [ReminderLedger(database) for database in databases]

    def run_both() -> int:
        now = service.clock.now()
        return sum(together(2, lambda i: raise_reminders(ledgers[i], now, GRACE)))

    yield run_both
    for database in databases:
        database.close()


def raised(service) -> list[tuple[str, int, str]]:
    return sorted((doc["assignment_id"], doc["index"], doc["kind"]) for doc in service.database["reminders"].find())


def test_two_reminder_jobs_at_once_raise_each_reminder_once(service, two_jobs):
    made = {}
    for every_days in (1, 2, 7, None):
        for n in range(2):
            body = {"client_id": f"client-{every_days}-{n}", "instrument": "gad7", "every_days": every_days}
            made[(every_days, n)] = service.post("/v1/assignments", body).json["id"]
    count = 0
    for _ in range(21):  # every twelve hours for ten days: each due and overdue moment is met
        count += two_jobs()
        count += two_jobs()  # and again at the same moment: nothing more
        service.clock.advance(hours=12)

    expected = []
    for (every_days, _), assignment_id in made.items():
        if every_days == 1 or every_days == 2:  # closes before it would be overdue
            expected += [(assignment_id, index, "due") for index in range(10 // every_days + 1)]
        elif every_days == 7:
            expected += [(assignment_id, index, kind) for index in (0, 1) for kind in ("due", "overdue")]
        else:
            expected += [(assignment_id, 0, "due"), (assignment_id, 0, "overdue")]
    assert raised(service) == sorted(expected)
    assert count == len(expected)
    # One journal entry, with one questionnaire.due, per reminder.
    entries = list(service.database[JOURNAL].find({"collection": "reminders"}))
    assert sorted(entry["record_id"] for entry in entries) == sorted(f"{a}:{i}:{k}" for a, i, k in expected)
    assert all(len(entry["events"]) == 1 for entry in entries)
    assert len({entry["events"][0]["id"] for entry in entries}) == len(expected)
    # Handled entries are removed; what is left is planned for later.
    now = service.clock.now()
    assert all(entry["due_at"] > now for entry in service.database[config.REMINDER_TIMETABLE].find())


def test_a_cancellation_racing_the_reminder_job_stops_every_later_reminder(service, two_jobs):
    assignments = [
        service.post("/v1/assignments", {"client_id": f"client-{n}", "instrument": "phq9", "every_days": 7}).json["id"]
        for n in range(THREADS * 2)
    ]
    service.clock.advance(hours=1)

    def act(i: int) -> None:
        if i == 0:
            two_jobs()
        else:
            for assignment_id in assignments[i - 1::THREADS]:
                answer = service.post(f"/v1/assignments/{assignment_id}/cancel", {"reason": "discharged"})
                assert answer.status_code == 200

    together(THREADS + 1, act)
    first = raised(service)
    # Raised before the cancellation was seen, or not at all: never twice.
    assert set(first) <= {(a, 0, "due") for a in assignments} and len(set(first)) == len(first)

    for _ in range(4):  # past the next occurrence's due and overdue times: nothing for any of them
        service.clock.advance(days=3)
        two_jobs()
    assert raised(service) == first
    assert list(service.database[config.REMINDER_TIMETABLE].find()) == []
    views = service.get("/v1/assignments", params={"limit": 50}).json["items"]
    assert sorted(view["id"] for view in views if view["status"] == "cancelled") == sorted(assignments)
