"""Assignments over HTTP: their state now, from the schedule, fulfilling responses and a
cancellation; idempotent creation."""
from __future__ import annotations

import uuid

import pytest

from tests.support.questionnaires import gad7, phq9

pytestmark = pytest.mark.integration


def assign(service, **body) -> dict:
    answer = service.post("/v1/assignments", {"client_id": "client-1", "instrument": "gad7", **body})
    assert answer.status_code == 201, answer.text
    return answer.json()


def state(service, assignment_id: str) -> dict:
    answer = service.get(f"/v1/assignments/{assignment_id}")
    assert answer.status_code == 200
    return answer.json()


def test_a_weekly_assignment_goes_due_overdue_completed_and_due_again(service):
    weekly = assign(service, every_days=7, starts_at="2026-01-06T09:00:00Z")
    assert weekly["status"] == "upcoming"
    assert weekly["next_due_at"] == "2026-01-06T09:00:00.000Z"
    assert weekly["assigned_by"] == weekly["therapist_id"] == "therapist-1"

    service.clock.advance(days=1)
    now = state(service, weekly["id"])
    assert now["status"] == "due" and now["current"]["index"] == 0
    assert now["current"]["overdue_at"] == "2026-01-08T09:00:00.000Z"
    assert now["next"]["due_at"] == "2026-01-13T09:00:00.000Z"

    service.clock.advance(days=2)
    assert state(service, weekly["id"])["status"] == "overdue"

    response = service.submit("client-1", "gad7", gad7(6), assignment_id=weekly["id"])
    assert response["occurrence"] == 0
    done = state(service, weekly["id"])
    assert done["status"] == "completed"
    assert done["current"]["response_id"] == response["id"]
    assert done["next_due_at"] == "2026-01-13T09:00:00.000Z"

    service.clock.advance(days=5)  # 13 January: the second week opens
    again = state(service, weekly["id"])
    assert again["status"] == "due" and again["current"]["index"] == 1 and again["current"]["response_id"] is None


def test_a_second_response_for_one_occurrence_is_kept_but_does_not_fulfil_it_again(service):
    once = assign(service)
    first = service.submit("client-1", "gad7", gad7(9), assignment_id=once["id"])
    second = service.submit("client-1", "gad7", gad7(4), assignment_id=once["id"])
    assert first["occurrence"] == second["occurrence"] == 0
    assert state(service, once["id"])["current"]["response_id"] == first["id"]
    assert service.database["fulfilments"].count_documents({}) == 1


def test_a_response_without_assignment_id_fulfils_the_open_occurrence_of_that_instrument(service):
    weekly = assign(service, every_days=7, starts_at="2026-01-06T09:00:00Z")
    later = assign(service, every_days=7, starts_at="2026-01-06T09:00:01Z")
    other = assign(service, instrument="phq9", every_days=7, starts_at="2026-01-06T09:00:00Z")
    service.clock.advance(days=1, seconds=1)  # both GAD-7s are open; the first opened first

    response = service.submit("client-1", "gad7", gad7(6))  # from the app's home page: no assignment_id

    assert response["assignment_id"] == weekly["id"] and response["occurrence"] == 0
    assert response["therapist_id"] == "therapist-1"
    assert state(service, weekly["id"])["status"] == "completed"
    assert state(service, later["id"])["status"] == "due", "one response answers one occurrence"
    assert state(service, other["id"])["status"] == "due", "a GAD-7 does not answer a PHQ-9"
    second = service.submit("client-1", "gad7", gad7(5))
    assert second["assignment_id"] == later["id"] and state(service, later["id"])["status"] == "completed"
    third = service.submit("client-1", "gad7", gad7(4))
    assert third["assignment_id"] is None and third["occurrence"] is None


def test_a_one_off_with_an_end_is_completed_or_ended(service):
    answered = assign(service, ends_at="2026-01-08T09:00:00Z")
    unanswered = assign(service, ends_at="2026-01-08T09:00:00Z")
    service.submit("client-1", "gad7", gad7(2), assignment_id=answered["id"])
    service.clock.advance(days=5)
    assert state(service, answered["id"])["status"] == "completed"
    ended = state(service, unanswered["id"])
    assert ended["status"] == "ended" and ended["next_due_at"] is None


def test_a_response_outside_the_schedule_or_after_cancelling_fulfils_nothing(service):
    later = assign(service, every_days=7, starts_at="2026-02-01T00:00:00Z")
    early = service.submit("client-1", "gad7", gad7(5), assignment_id=later["id"])
    assert early["occurrence"] is None
    cancelled = assign(service, every_days=7)
    cancel = service.post(f"/v1/assignments/{cancelled['id']}/cancel", {"reason": "stepped up to high intensity"})
    assert cancel.status_code == 200
    assert cancel.json()["status"] == "cancelled"
    assert cancel.json()["cancellation"]["reason"] == "stepped up to high intensity"
    after = service.submit("client-1", "gad7", gad7(5), assignment_id=cancelled["id"])
    assert after["occurrence"] is None
    assert service.database["fulfilments"].count_documents({}) == 0
    # Cancelling again keeps the first cancellation.
    again = service.post(f"/v1/assignments/{cancelled['id']}/cancel", {"reason": "again"}).json()
    assert again["cancellation"]["reason"] == "stepped up to high intensity"


def test_an_assignment_must_match_the_response(service):
    gad = assign(service)
    wrong_instrument = service.post("/v1/responses", {"client_id": "client-1", "instrument": "phq9", "answers": phq9(3),
                                                      "assignment_id": gad["id"]})
    assert wrong_instrument.status_code == 422 and "assignment_id" in wrong_instrument.json()["errors"]
    wrong_client = service.post("/v1/responses", {"client_id": "client-2", "instrument": "gad7", "answers": gad7(3),
                                                  "assignment_id": gad["id"]})
    assert wrong_client.status_code == 422
    unknown = service.post("/v1/responses", {"client_id": "client-1", "instrument": "gad7", "answers": gad7(3),
                                             "assignment_id": "no-such-assignment"})
    assert unknown.status_code == 422


def test_a_response_to_an_assignment_names_its_therapist(service):
    made = service.post("/v1/assignments", {"client_id": "client-1", "instrument": "gad7", "therapist_id": "therapist-9"},
                        role="admin", sub="admin-1").json()
    assert made["assigned_by"] == "admin-1" and made["therapist_id"] == "therapist-9"
    answer = service.post("/v1/responses", {"instrument": "gad7", "answers": gad7(3), "assignment_id": made["id"]},
                          role="client", sub="client-1")
    assert answer.status_code == 201
    assert answer.json()["therapist_id"] == "therapist-9"


def test_a_client_may_assign_itself_a_diary_but_not_choose_a_therapist(service):
    own = service.post("/v1/assignments", {"instrument": "who5", "every_days": 1}, role="client", sub="client-1")
    assert own.status_code == 201 and own.json()["client_id"] == "client-1" and own.json()["therapist_id"] is None
    chosen = service.post("/v1/assignments", {"instrument": "who5", "therapist_id": "t-2"}, role="client", sub="client-1")
    assert chosen.status_code == 403
    cancel = service.post(f"/v1/assignments/{own.json()['id']}/cancel", {}, role="client", sub="client-1")
    assert cancel.status_code == 200


def test_creating_an_assignment_is_idempotent_and_lists_page(service):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"client_id": "client-1", "instrument": "phq9", "every_days": 14}
    first = service.post("/v1/assignments", body, headers=key)
    again = service.post("/v1/assignments", body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert service.post("/v1/assignments", {**body, "every_days": 7}, headers=key).status_code == 409

    made = [first.json()["id"]]
    for _ in range(4):
        service.clock.advance(minutes=1)
        made.append(assign(service, every_days=7)["id"])
    assign(service, client_id="client-2")
    seen, cursor = [], None
    while True:
        page = service.get("/v1/assignments", params={"client_id": "client-1", "limit": 2, **({"cursor": cursor} if cursor else {})})
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    only_phq9 = service.get("/v1/assignments", params={"client_id": "client-1", "instrument": "phq9"}).json()["items"]
    assert [item["id"] for item in only_phq9] == [first.json()["id"]]


def test_a_tenants_assignments_page_newest_first_across_months(service):
    made = []
    for n in range(5):
        made.append(assign(service, client_id=f"client-{n % 2}", instrument="phq9" if n % 2 else "gad7")["id"])
        service.clock.advance(days=12)  # over two months
    service.post("/v1/assignments", {"client_id": "client-1", "instrument": "gad7"}, tenant="clinic-b")
    seen, cursor = [], None
    while True:
        page = service.get("/v1/assignments", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    only_phq9 = service.get("/v1/assignments", params={"instrument": "phq9"}).json()["items"]
    assert [item["id"] for item in only_phq9] == [made[3], made[1]]
    assert [item["status"] for item in only_phq9] == ["overdue", "overdue"]  # one-offs, never answered
