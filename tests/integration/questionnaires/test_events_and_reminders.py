"""Events through the real broker: risk flags at once, scores, assignments, and one
``questionnaire.due`` per occurrence however many workers run."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.questionnaires import config, jobs
from services.questionnaires.jobs import plan_reminders, raise_reminders
from tests.support.questionnaires import START, caught_up, gad7, phq9
from tests.support.harness import wait_for

pytestmark = pytest.mark.integration


def events_in(service, queue: str, count: int, timeout: float = 15.0) -> list[dict]:
    """Wait for at least ``count`` messages on ``queue``, then take them all."""
    wait_for(lambda: service.harness.message_count(queue) >= count, timeout=timeout, what=f"{count} events on {queue}")
    return [json.loads(body) for _, body in service.harness.drain(queue)]


def test_item_9_raises_risk_flagged_at_once_with_tenant_client_and_value(service):
    queue = service.harness.bind_queue(["risk.*"])
    service.worker()
    response = service.submit("client-1", "phq9", phq9(14, item9=2), tenant="clinic-b")

    [event] = events_in(service, queue, 1)
    assert event["type"] == "stepwise.risk.flagged.v1"
    assert event["tenantid"] == "clinic-b"
    assert event["subject"] == response["id"]
    assert event["source"] == "/stepwise/questionnaires"
    data = event["data"]
    assert data["response_id"] == response["id"]
    assert data["client_id"] == "client-1"
    assert data["instrument"] == "phq9"
    assert data["flags"] == [{"code": "self_harm_risk", "item": "9", "value": 2}]
    assert data["therapist_id"] == "therapist-1"


def test_a_scored_response_raises_questionnaire_scored_and_no_risk_without_flags(service):
    queue = service.harness.bind_queue(["questionnaire.scored", "risk.*"])
    service.worker()
    service.submit("client-2", "gad7", gad7(9))
    service.clock.advance(days=7)
    response = service.submit("client-2", "gad7", gad7(3))

    events = events_in(service, queue, 2)
    # Once the relay has published all that was stored, whatever else was raised is in the queue.
    service.harness.wait_relayed(config.SERVICE)
    events += [json.loads(body) for _, body in service.harness.drain(queue)]
    assert [event["type"] for event in events] == ["stepwise.questionnaire.scored.v1"] * 2
    data = events[1]["data"]
    assert data["response_id"] == response["id"]
    assert data["score"]["total"] == 3
    assert data["change"]["baseline_total"] == 9
    assert data["change"]["reliable_change"] == "improved"


def test_an_assignment_raises_questionnaire_assigned_with_who_assigned_it(service):
    queue = service.harness.bind_queue(["questionnaire.assigned"])
    service.worker()
    made = service.post("/v1/assignments", {"client_id": "client-3", "instrument": "phq9", "every_days": 14})
    assert made.status_code == 201, made.text

    [event] = events_in(service, queue, 1)
    assert event["subject"] == made.json()["id"]
    assert event["data"]["assigned_by"] == "therapist-1"
    assert event["data"]["every_days"] == 14
    assert event["data"]["starts_at"] == "2026-01-05T09:00:00.000Z"


def reminded(service, queue: str, before: dict[str, dict] | None = None) -> dict[str, dict]:
    """The reminders raised by now, once the reminder job has caught up with the clock, by
    event id, leaving out those in ``before``. Two relays may both publish an event before either
    removes it from the outbox (delivery is at least once); consumers drop the copy by its id."""
    wait_for(lambda: caught_up(service), timeout=60, what="the reminder job to catch up with the clock")
    found: dict[str, dict] = {}
    for _, body in service.harness.drain(queue):
        event = json.loads(body)
        assert found.setdefault(event["id"], event) == event
        assert (before or {}).get(event["id"], event) == event
    return {event_id: event for event_id, event in found.items() if event_id not in (before or {})}


def test_two_workers_raise_one_due_event_per_occurrence(service):
    queue = service.harness.bind_queue(["questionnaire.due"])
    weekly = service.post("/v1/assignments", {"client_id": "client-4", "instrument": "gad7", "every_days": 7}).json()
    once = service.post("/v1/assignments", {"client_id": "client-5", "instrument": "phq9"}).json()
    service.worker()
    service.worker()

    first = reminded(service, queue)
    raised = sorted((e["data"]["assignment_id"], e["data"]["occurrence"], e["data"]["kind"]) for e in first.values())
    assert raised == sorted([(weekly["id"], 0, "due"), (once["id"], 0, "due")])
    assert all(event["data"]["due_at"] == "2026-01-05T09:00:00.000Z" for event in first.values())

    service.clock.advance(days=7)  # the weekly one's second occurrence opens
    second = reminded(service, queue, before=first)
    raised = sorted((e["data"]["assignment_id"], e["data"]["occurrence"], e["data"]["kind"]) for e in second.values())
    # The one-off has been overdue since day 2 and is reminded once; the weekly one is due again.
    assert raised == sorted([(weekly["id"], 1, "due"), (once["id"], 0, "overdue")])
    assert service.database["reminders"].count_documents({}) == 4


def test_an_answered_occurrence_is_not_chased_and_a_cancelled_assignment_is_silent(service):
    queue = service.harness.bind_queue(["questionnaire.due"])
    answered = service.post("/v1/assignments", {"client_id": "client-6", "instrument": "gad7", "every_days": 7}).json()
    cancelled = service.post("/v1/assignments", {"client_id": "client-7", "instrument": "gad7", "every_days": 7}).json()
    service.clock.advance(hours=1)
    service.submit("client-6", "gad7", gad7(5), assignment_id=answered["id"])
    assert service.post(f"/v1/assignments/{cancelled['id']}/cancel", {"reason": "discharged"}).status_code == 200

    service.worker()
    service.clock.advance(days=3)  # past the overdue time of the first occurrence
    assert reminded(service, queue) == {}

    service.clock.advance(days=4)  # the second week opens
    [event] = reminded(service, queue).values()
    assert (event["data"]["assignment_id"], event["data"]["occurrence"]) == (answered["id"], 1)
    assert event["data"]["due_at"] == "2026-01-12T09:00:00.000Z"


def test_an_occurrence_reached_only_when_overdue_is_reminded_once(service):
    queue = service.harness.bind_queue(["questionnaire.due"])
    assignment = service.post("/v1/assignments", {"client_id": "client-8", "instrument": "phq9", "every_days": 14}).json()
    service.clock.advance(days=3)
    service.worker()
    [event] = reminded(service, queue).values()
    assert (event["data"]["assignment_id"], event["data"]["kind"]) == (assignment["id"], "overdue")
    assert event["data"]["overdue_at"] == "2026-01-07T09:00:00.000Z"
    # The next occurrence is still reminded when it opens.
    service.clock.advance(days=11)
    [event] = reminded(service, queue).values()
    assert (event["data"]["assignment_id"], event["data"]["occurrence"], event["data"]["kind"]) == (
        assignment["id"], 1, "due")


GRACE = timedelta(hours=48)  # OVERDUE_AFTER_HOURS' default, which the service runs with here


def run_job(service) -> list[tuple[str, int, str]]:
    """Run the reminder job once at the clock's time; the reminders it raised."""
    before = {doc["_id"] for doc in service.database["reminders"].find({}, {"_id": 1})}
    raise_reminders(service.reminders, service.clock.now(), GRACE)
    return sorted((doc["assignment_id"], doc["index"], doc["kind"])
                  for doc in service.database["reminders"].find() if doc["_id"] not in before)


def test_occurrences_that_closed_while_no_job_ran_are_not_reminded(service):
    every3 = service.post("/v1/assignments", {"client_id": "client-9", "instrument": "gad7", "every_days": 3}).json()
    assert run_job(service) == [(every3["id"], 0, "due")]
    service.clock.advance(days=9, hours=1)  # occurrences 1 and 2 opened and closed meanwhile
    assert run_job(service) + run_job(service) == [(every3["id"], 3, "due")]
    service.clock.advance(days=2)
    assert run_job(service) == [(every3["id"], 3, "overdue")]


def test_an_assignment_that_started_weeks_ago_is_reminded_of_the_occurrence_open_now(service):
    backdated = service.post("/v1/assignments", {"client_id": "client-10", "instrument": "gad7", "every_days": 7,
                                                 "starts_at": "2025-12-21T09:00:00Z"}).json()
    assert backdated["current"]["index"] == 2
    assert run_job(service) == [(backdated["id"], 2, "due")]
    assert sorted(doc["_id"] for doc in service.database[config.REMINDER_TIMETABLE].find()) == [
        f"{backdated['id']}:2:overdue", f"{backdated['id']}:3:due", f"{backdated['id']}:3:overdue"]


def test_an_entry_whose_assignment_never_came_is_dropped_after_a_while(service):
    never_stored = {"_id": "never-stored", "tenant": "clinic-a", "client_id": "client-11", "instrument": "gad7",
                    "every_days": 7, "starts_at": START, "ends_at": None}
    plan_reminders(service.reminders, never_stored, GRACE, service.clock.now())
    assert run_job(service) == []
    assert service.database[config.REMINDER_TIMETABLE].count_documents({"assignment_id": "never-stored"}) == 2
    service.clock.advance(minutes=10)  # the request that planned it has long given up
    assert run_job(service) == []
    assert service.database[config.REMINDER_TIMETABLE].count_documents({"assignment_id": "never-stored"}) == 1
    service.clock.advance(days=2)
    run_job(service)
    assert service.database[config.REMINDER_TIMETABLE].count_documents({}) == 0


def test_an_entry_acts_only_on_an_assignment_of_its_own_tenant(service):
    real = service.post("/v1/assignments", {"client_id": "client-12", "instrument": "gad7"}, tenant="clinic-b").json()
    service.database[config.REMINDER_TIMETABLE].delete_many({})
    forged = {"_id": real["id"], "tenant": "clinic-a", "client_id": "client-12", "instrument": "gad7",
              "every_days": None, "starts_at": START, "ends_at": None}
    plan_reminders(service.reminders, forged, GRACE, service.clock.now())
    service.clock.advance(minutes=10)
    assert run_job(service) == []


def test_one_run_raises_more_reminders_than_a_batch(service, monkeypatch):
    monkeypatch.setattr(jobs, "BATCH", 2)
    made = sorted(service.post("/v1/assignments", {"client_id": f"client-{n}", "instrument": "gad7"}).json()["id"]
                  for n in range(5))
    assert run_job(service) == [(assignment_id, 0, "due") for assignment_id in made]


def test_an_entry_planned_earlier_than_the_stored_schedule_waits_for_it(service):
    # Two requests with one Idempotency-Key and different bodies: the one refused (409) may
    # have planned its own, earlier, first occurrence before the other's assignment was stored.
    stored = service.post("/v1/assignments", {"client_id": "client-13", "instrument": "gad7",
                                              "starts_at": "2026-01-06T09:00:00Z"}).json()
    service.database[config.REMINDER_TIMETABLE].delete_many({})
    refused_body = {"_id": stored["id"], "tenant": "clinic-a", "client_id": "client-13", "instrument": "gad7",
                    "every_days": None, "starts_at": START, "ends_at": None}
    plan_reminders(service.reminders, refused_body, GRACE, service.clock.now())
    assert run_job(service) == []
    service.clock.advance(days=1)
    assert run_job(service) == [(stored["id"], 0, "due")]
