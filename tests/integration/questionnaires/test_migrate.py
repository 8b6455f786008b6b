"""The migration: records stored before the indexed storage show in lists and are reminded."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.questionnaires import config
from services.questionnaires.migrate import migrate
from services.questionnaires.jobs import raise_reminders
from tests.support.questionnaires import gad7

pytestmark = pytest.mark.integration

GRACE = timedelta(hours=48)


def old_copy(service, collection: str, record_id: str, **changes) -> dict:
    """A copy of a stored record as it was stored before this storage: no period numbers, no
    events (they went out long ago), under a new id."""
    record = service.database[collection].find_one({"_id": record_id})
    for field in ("outbox", "day_no", "year_no", "month_no"):
        record.pop(field, None)
    record.update(changes)
    service.database[collection].insert_one(record)
    return record


def test_old_responses_and_assignments_are_listed_and_reminded_after_the_migration(service):
    response = service.submit("client-1", "gad7", gad7(9))
    assignment = service.post("/v1/assignments", {"client_id": "client-1", "instrument": "gad7", "every_days": 7}).json()
    old_response = old_copy(service, "responses", response["id"], _id="old-response", client_id="client-old",
                            completed_at=service.clock.now() - timedelta(days=400))
    old_assignment = old_copy(service, "assignments", assignment["id"], _id="old-assignment", client_id="client-old",
                              created_at=service.clock.now() - timedelta(days=400),
                              starts_at=service.clock.now() - timedelta(days=379))
    cancelled = old_copy(service, "assignments", assignment["id"], _id="old-cancelled", client_id="client-old",
                         created_at=service.clock.now() - timedelta(days=300))
    service.database["assignment_cancellations"].insert_one(
        {"_id": "old-cancelled", "tenant": "clinic-a", "client_id": "client-old", "cancelled_at": cancelled["created_at"],
         "cancelled_by": "therapist-1", "reason": None})

    def listed(path: str, **params) -> list[str]:
        return [item["id"] for item in service.get(path, params={"limit": 200, **params}).json()["items"]]

    assert listed("/v1/responses") == [response["id"]]  # before: not where a page looks
    assert listed("/v1/assignments") == [assignment["id"]]

    done = migrate(service.reminders.database, service.clock.now(), GRACE)
    assert done == {"responses_stamped": 1, "assignments_stamped": 2, "assignments_planned": 2, "instruments_announced": 0,
                    "series_summarized": 2, "therapists_linked": 1}
    assert listed("/v1/responses") == [response["id"], old_response["_id"]]
    assert listed("/v1/responses", client_id="client-old") == [old_response["_id"]]
    assert listed("/v1/assignments") == [assignment["id"], "old-cancelled", old_assignment["_id"]]
    assert migrate(service.reminders.database, service.clock.now(), GRACE)["responses_stamped"] == 0

    raise_reminders(service.reminders, service.clock.now(), GRACE)
    reminded = sorted((doc["assignment_id"], doc["index"], doc["kind"]) for doc in service.database["reminders"].find())
    # The old weekly one is reminded of its occurrence open now (379 days in: number 54, opened
    # a day ago), not of the ones that closed long ago; the cancelled one of nothing.
    assert reminded == sorted([(assignment["id"], 0, "due"), ("old-assignment", 54, "due")])
    planned = sorted(doc["_id"] for doc in service.database[config.REMINDER_TIMETABLE].find())
    assert planned == sorted([f"{assignment['id']}:0:overdue", f"{assignment['id']}:1:due", f"{assignment['id']}:1:overdue",
                              "old-assignment:54:overdue", "old-assignment:55:due", "old-assignment:55:overdue"])
