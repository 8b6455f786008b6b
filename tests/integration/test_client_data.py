"""A client's data rights across the three services, through the real broker: export returns what
each service holds about them; an admin's erasure removes it everywhere, leaves another client's
data alone, and a replayed erasure changes nothing."""
from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from scripts.demo import FIRST_PHQ9, LATER_PHQ9, Story
from services.goals import config as goals_config
from services.goals.app import create_app as goals_app
from services.goals.worker import build_worker as goals_worker
from services.notifications import config as notifications_config
from services.notifications.app import create_app as notifications_app
from services.notifications.worker import build_worker as notifications_worker
from services.questionnaires import config as questionnaires_config
from services.questionnaires.app import create_app as questionnaires_app
from services.questionnaires.worker import build_worker as questionnaires_worker
from shared import audit, client_data
from shared.events.consumer import was_handled
from shared.events.publisher import Publisher
from shared.mongo import Database
from tests.conftest import JWT_SECRET
from tests.support.harness import wait_for

pytestmark = pytest.mark.integration

SERVICES = {
    "goals": (goals_config, goals_app, goals_worker),
    "questionnaires": (questionnaires_config, questionnaires_app, questionnaires_worker),
    "notifications": (notifications_config, notifications_app, notifications_worker),
}
# Kept on purpose (shared/client_data.py): the erasure's own records and the access audit (who read
# whose records, never the records); and bookkeeping that holds ids only (list directories,
# consumer marks, the relay's state) is not searched here.
KEPT = {client_data.ERASURES, client_data.ERASURE_REPORTS, audit.COLLECTION}
BOOKKEEPING = {"list_periods", "processed_events", "outbox_sent", "outbox_state", "outbox_journal", "lease_claims",
               "lease_members", "retention_cursors", "timetable_cursors"}


@pytest.fixture
def stack(harness):
    settings, urls = {}, {}
    for name, (config, app, worker) in SERVICES.items():
        settings[name] = harness.settings(name, config.OPTIONS, OUTBOX_POLL_SECONDS="0.05")
        harness.start(worker(settings[name]))
        urls[name] = harness.serve(app(settings[name]))
    story = Story(urls["goals"], urls["questionnaires"], urls["notifications"], JWT_SECRET, say=lambda line: None)
    return story, settings


def live_story(story: Story) -> dict:
    """The demo's story for ``story.client``: a care team, a PHQ-9 goal, a risky first PHQ-9 and
    later ones that achieve the goal; waits until every service holds its part."""
    began = datetime.now(timezone.utc) - timedelta(weeks=len(LATER_PHQ9) * 2)
    story.set_up_the_care_team("bo@clinic.example", f"{story.client}@home.example")
    goal = story.set_the_goal(began.date())
    story.assign_phq9(began)
    story.submit_phq9(FIRST_PHQ9, began)
    for weeks, answers in enumerate(LATER_PHQ9, start=2):
        story.submit_phq9(answers, min(began + timedelta(weeks=weeks), datetime.now(timezone.utc)))
    wait_for(lambda: story.goal(goal["id"])["status"] == "achieved", timeout=30, what="the goal achieved by scores")
    wait_for(lambda: [n for n in story.inbox("client", story.client) if n["type"] == "goal_achieved"], timeout=30,
             what="the client's note")
    return goal


def export(story: Story, service: str, role: str = "client", sub: str | None = None) -> dict:
    url = getattr(story, service)
    return story.call("GET", f"{url}/v1/clients/{story.client}/export", role, sub or story.client, 200)


def documents_naming(settings, client_id: str) -> dict[str, list[str]]:
    """Every stored document, in every service's database, whose JSON holds ``client_id``."""
    found: dict[str, list[str]] = {}
    for name, service_settings in settings.items():
        database = Database(service_settings.mongo_url, service_settings.database)
        try:
            for collection in database.client[database.name].list_collection_names():
                if collection in KEPT | BOOKKEEPING:
                    continue
                for document in database[collection].find():
                    if f'"{client_id}"' in json.dumps(document, default=str):
                        found.setdefault(f"{name}.{collection}", []).append(str(document["_id"]))
        finally:
            database.close()
    return found


def test_export_then_erasure_removes_the_client_everywhere_and_only_them(stack):
    story, settings = stack
    other = replace(story, client="client-eve")
    goal = live_story(story)
    other_goal = live_story(other)

    exported = {service: export(story, service) for service in SERVICES}
    assert exported["goals"]["format"] == client_data.EXPORT_FORMAT
    assert [g["_id"] for g in exported["goals"]["records"]["current_goals"]] == [goal["id"]]
    assert len(exported["goals"]["records"]["goal_history"]) >= 4  # creation, progress from scores, achievement
    assert len(exported["questionnaires"]["records"]["responses"]) == 1 + len(LATER_PHQ9)
    assert exported["questionnaires"]["records"]["assignments"]
    assert exported["notifications"]["records"]["notifications"]
    assert exported["notifications"]["records"]["preferences"][0]["user_id"] == story.client
    staff = export(story, "goals", "therapist", story.therapist)
    assert staff["records"] == exported["goals"]["records"]
    refused = story.session.get(f"{story.goals}/v1/clients/{story.client}/export", headers=story.headers("client", other.client),
                                timeout=10)
    assert refused.status_code == 403

    held = documents_naming(settings, story.client)
    assert {"goals.current_goals", "goals.goal_history", "questionnaires.responses", "notifications.notifications",
            "notifications.alerts", "notifications.memberships"} <= set(held)

    erasure_url = f"{story.questionnaires}/v1/clients/{story.client}/erasure"
    for role, sub in (("client", story.client), ("therapist", story.therapist)):
        assert story.session.post(erasure_url, json={}, headers=story.headers(role, sub), timeout=10).status_code == 403
    erasure = story.call("POST", erasure_url, "admin", story.admin, 202, json={"reason": "the client asked (GDPR art. 17)"})
    assert erasure["complete"] is False and erasure["client_id"] == story.client

    def status(service: str) -> dict:
        return story.call("GET", f"{getattr(story, service)}/v1/erasures/{erasure['id']}", "admin", story.admin, 200)

    done = wait_for(lambda: (s := status("questionnaires"))["complete"] and s, timeout=30, what="every service's report")
    assert {report["service"] for report in done["reports"]} == set(SERVICES)
    assert all(report["records_deleted"] > 0 for report in done["reports"])
    wait_for(lambda: status("goals")["complete"], what="the goals service to know the erasure is complete")

    # Nothing about the client is left in any route or any database ...
    assert story.session.get(f"{story.goals}/v1/goals/{goal['id']}", headers=story.headers("therapist", story.therapist),
                             timeout=10).status_code == 404
    for service in SERVICES:
        assert all(records == [] for records in export(story, service)["records"].values()), service
    assert story.inbox("client", story.client) == []
    assert [n for n in story.inbox("therapist", story.therapist) if n["client_id"] == story.client] == []
    responses = story.call("GET", f"{story.questionnaires}/v1/responses", "therapist", story.therapist, 200,
                           params={"client_id": story.client})
    assert responses["items"] == []
    assert documents_naming(settings, story.client) == {}
    # ... and the other client's data is all there.
    assert story.goal(other_goal["id"])["status"] == "achieved"
    assert len(export(other, "questionnaires")["records"]["responses"]) == 1 + len(LATER_PHQ9)
    assert [n for n in other.inbox("client", other.client) if n["type"] == "goal_achieved"]

    # The request raised again (a new event for the same erasure) erases nothing more and adds no report.
    database = Database(settings["questionnaires"].mongo_url, settings["questionnaires"].database)
    replay = {**database[client_data.ERASURES].find_one({"_id": erasure["id"]})["outbox"]["events"][0], "id": str(uuid.uuid4())}
    database.close()
    publisher = Publisher(settings["goals"].amqp_url, settings["goals"].exchange)
    try:
        publisher.publish(replay)
    finally:
        publisher.close()
    for name, service_settings in settings.items():
        database = Database(service_settings.mongo_url, service_settings.database)
        wait_for(lambda database=database, name=name: was_handled(database, f"{name}.erasure", replay["id"]), what=f"{name} to handle the replay")
        database.close()
    assert {(r["service"], r["records_deleted"]) for r in status("notifications")["reports"]} == \
        {(r["service"], r["records_deleted"]) for r in done["reports"]}
    assert documents_naming(settings, story.client) == {}
