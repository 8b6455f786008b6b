"""Where two writers meet, against the real database: two delivery jobs on one delivery, two
acknowledgements of one alert, an acknowledgement racing the escalation job, two escalation
jobs, a care-team PUT racing an event that adds a member.

No worker runs (``store``): the threads below are the only writers, each with its own
connection, as replicas of the worker and the API would be, and each test asserts the exact
outcome once they are done.
"""
from __future__ import annotations

import threading
from collections import Counter
from typing import Callable

import pytest

from services.notifications import config
from services.notifications.adapters.alerts import Alerts
from services.notifications.adapters.memberships import CARE_TEAM, CLINICIANS, Memberships
from services.notifications.adapters.preferences import PreferencesRepository
from services.notifications.domain.escalation import ACKNOWLEDGED, ESCALATED, HistoryEntry
from services.notifications.domain.preferences import Preferences
from services.notifications.domain.rules import NORMAL, Intent
from services.notifications.jobs import EscalationJob
from services.notifications.actions import Notifier
from shared.mongo import Scope, ScopedCollection
from tests.support.notifications import TENANT, questionnaire_assigned

pytestmark = pytest.mark.integration

THREADS = 6
ROUNDS = 20
ADMINS = ["admin-1", "admin-2"]


def race(*workers: Callable[[], None], threads: int = THREADS) -> None:
    """Run ``workers`` round-robin on ``threads`` threads released together; re-raise any error."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(work: Callable[[], None]) -> None:
        barrier.wait()
        try:
            work()
        except BaseException as exc:  # reported in the test's own thread, below
            errors.append(exc)

    started = [threading.Thread(target=run, args=(workers[n % len(workers)],)) for n in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    assert not errors, errors


def raise_alerts(store, count: int) -> list[str]:
    clients = [f"client-{n}" for n in range(count)]
    store.clinic(clients, care_team=["ther-1"], admins=ADMINS)
    return [store.raise_alert(client_id) for client_id in clients]


def listed(store, headers: dict, status: str) -> list[str]:
    return sorted(item["id"] for item in store.every_page("/v1/alerts", headers, limit=7, status=status))


def escalation_notices(store) -> Counter:
    found = store.database[config.NOTIFICATIONS].find({"type": "risk_alert_escalated"})
    return Counter((notice["alert_id"], notice["recipient_id"]) for notice in found)


def test_delivery_jobs_on_one_database_make_each_attempt_once_and_send_each_email_once(store, mailbox):
    people = [f"client-{n}" for n in range(40)]
    for person in people:
        PreferencesRepository(store.database, Scope(TENANT)).put(
            person, Preferences(email=f"{person}@home.example"), store.clock.now(), "test")
    Notifier(store.database).notify(
        [Intent(type="reminder", priority=NORMAL, recipient_id=person, recipient_role="client", client_id=person,
                tenant_id=TENANT, event_id=f"event-{person}", template="questionnaire_due",
                context={"instrument": "phq9", "assignment_id": f"asg-{person}", "due_at": None, "overdue": False})
         for person in people],
        store.clock.now(),
    )
    jobs = [store.email_job() for _ in range(THREADS)]

    race(*(lambda job=job: [job.run() for _ in range(ROUNDS)] for job in jobs))

    assert sorted(rcpt for rcpts, _ in mailbox.messages for rcpt in rcpts) == sorted(f"{p}@home.example" for p in people)
    claims = Counter(claim["delivery_id"] for claim in store.database[config.DELIVERY_CLAIMS].find())
    assert len(claims) == len(people) and set(claims.values()) == {1}
    attempts = store.database[config.DELIVERY_ATTEMPTS].find({"kind": "email"})
    assert sorted((a["delivery_id"], a["attempt"], a["outcome"], a["final"]) for a in attempts) == sorted(
        (delivery_id, 1, "delivered", True) for delivery_id in claims
    )
    assert store.database[config.EMAIL_TIMETABLE].count_documents({}) == 0


def test_an_alert_acknowledged_by_many_at_once_has_one_acknowledgement_and_lists_as_acknowledged(store, auth):
    alerts = raise_alerts(store, ROUNDS)
    answers: list[tuple[str, int]] = []

    def acknowledge_each(who: str) -> Callable[[], None]:
        def run() -> None:
            client = store.client.application.test_client()
            for alert_id in alerts:
                answer = client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=auth("therapist", who))
                answers.append((alert_id, answer.status_code))
        return run

    race(*(acknowledge_each(f"ther-{n}") for n in range(THREADS)))

    assert sorted(answers) == sorted((a, code) for a in alerts for code in [200] + [409] * (THREADS - 1))
    acknowledged = store.database[config.ALERT_EVENTS].find({"action": "acknowledged"})
    assert Counter(entry["alert_id"] for entry in acknowledged) == Counter(alerts)
    staff = auth("therapist", "ther-1")
    assert listed(store, staff, "acknowledged") == sorted(alerts)
    assert listed(store, staff, "delivered") == []
    for alert_id in alerts:
        assert store.client.get(f"/v1/alerts/{alert_id}", headers=staff).json["status"] == "acknowledged"


def test_an_acknowledgement_racing_the_escalation_job_ends_acknowledged_with_admins_told_at_most_once(store, auth):
    alerts = raise_alerts(store, ROUNDS)
    store.clock.advance(minutes=30)  # every alert falls due for escalation as it is acknowledged
    answers: list[int] = []

    def acknowledge_each(who: str) -> Callable[[], None]:
        def run() -> None:
            client = store.client.application.test_client()
            for alert_id in alerts:
                answers.append(client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=auth("therapist", who)).status_code)
        return run

    def escalate() -> None:
        job = EscalationJob(store.connect(), store.clock, batch=1)
        for _ in range(ROUNDS):
            job.run()

    race(acknowledge_each("ther-1"), escalate, acknowledge_each("ther-2"), escalate, acknowledge_each("ther-3"), escalate)

    assert sorted(answers) == [200] * ROUNDS + [409] * (2 * ROUNDS)
    entries = store.database[config.ALERT_EVENTS]
    assert Counter(entry["alert_id"] for entry in entries.find({"action": "acknowledged"})) == Counter(alerts)
    staff = auth("therapist", "ther-1")
    assert listed(store, staff, "acknowledged") == sorted(alerts)
    assert listed(store, staff, "escalated") == []
    EscalationJob(store.connect(), store.clock).run()  # the looks the acknowledgements put, and any left
    escalated = [entry["alert_id"] for entry in entries.find({"action": "escalated"})]
    assert len(escalated) == len(set(escalated))
    assert escalation_notices(store) == Counter((alert_id, admin) for alert_id in escalated for admin in ADMINS)
    assert store.database[config.ESCALATION_TIMETABLE].count_documents({}) == 0


def test_a_refresh_of_the_alert_list_copy_that_lands_after_a_newer_one_is_made_again(store, auth, monkeypatch):
    """The interleaving the threads above can only hope to hit, made certain: an escalation's
    refresh reads the history, then an acknowledgement is recorded and refreshed, then the
    escalation's (older) copy is written over it."""
    store.clinic(["client-1"], care_team=["ther-1"], admins=ADMINS)
    alert_id = store.raise_alert("client-1")
    escalating = Alerts(store.connect(), Scope(TENANT))
    acknowledging = Alerts(store.connect(), Scope(TENANT))
    write = ScopedCollection.update_one
    overtaken: list[bool] = []

    def slow_write(collection, query, update, **kwargs):
        if not overtaken:
            overtaken.append(True)
            assert acknowledging.acknowledge(alert_id, "client-1", HistoryEntry(ACKNOWLEDGED, store.clock.now(), by="ther-1"))
        return write(collection, query, update, **kwargs)

    monkeypatch.setattr(ScopedCollection, "update_one", slow_write)
    escalating.record(alert_id, "client-1", HistoryEntry(ESCALATED, store.clock.now(), recipients=tuple(ADMINS)))
    monkeypatch.undo()

    assert overtaken == [True]
    assert listed(store, auth("therapist", "ther-1"), "acknowledged") == [alert_id]
    document = store.database[config.ALERTS].find_one({"_id": alert_id})
    assert document["version"] == 3 and [entry["action"] for entry in document["history"]] == [
        "raised", "delivered", "escalated", "acknowledged"
    ]


def test_escalation_jobs_running_at_once_tell_each_admin_once(store, auth):
    alerts = raise_alerts(store, ROUNDS // 2)
    store.clock.advance(minutes=30)
    jobs = [EscalationJob(store.connect(), store.clock, batch=1) for _ in range(THREADS)]

    race(*(lambda job=job: [job.run() for _ in range(ROUNDS)] for job in jobs))

    escalated = store.database[config.ALERT_EVENTS].find({"action": "escalated"})
    assert sorted(entry["alert_id"] for entry in escalated) == sorted(alerts)
    assert escalation_notices(store) == Counter((alert_id, admin) for alert_id in alerts for admin in ADMINS)
    assert listed(store, auth("therapist", "ther-1"), "escalated") == sorted(alerts)
    assert store.database[config.ESCALATION_TIMETABLE].count_documents({}) == 0


def test_a_care_team_put_racing_events_that_add_members_loses_none_of_either(store, auth):
    team = ["ther-1", "ther-2", "ther-3"]
    named_by_events = ["ther-2", "ther-3", "ther-7", "ther-8"]  # two on the PUT's list, two not
    teams = Memberships(store.database, Scope(TENANT))
    teams.replace(CLINICIANS, None, ["ther-old", *team, *named_by_events], store.clock.now(), "test")
    teams.replace(CARE_TEAM, "client-1", ["ther-old"], store.clock.now(), "test")
    answers: list[tuple[int, list[str]]] = []
    admin = auth("admin", "admin-1")

    def put_team() -> None:
        client = store.client.application.test_client()
        for _ in range(ROUNDS):
            answer = client.put("/v1/care-teams/client-1", json={"therapist_ids": team}, headers=admin)
            answers.append((answer.status_code, answer.json["therapist_ids"]))

    def handle_events() -> None:
        rules = store.rules(store.connect())
        for n in range(ROUNDS):
            rules(questionnaire_assigned("client-1", named_by_events[n % len(named_by_events)]))

    race(put_team, handle_events)

    assert len(answers) == ROUNDS * THREADS // 2
    assert all(code == 200 and set(team) <= set(members) for code, members in answers)
    members = teams.members(CARE_TEAM, "client-1")
    # Every member the PUTs name is there once, the one they replaced is gone, and a member an
    # event adds stays unless a PUT that started after it replaced it (either order is right).
    assert len(members) == len(set(members))
    assert set(team) <= set(members) <= set(team) | set(named_by_events)
    replaced = store.client.put("/v1/care-teams/client-1", json={"therapist_ids": team}, headers=admin)
    assert sorted(replaced.json["therapist_ids"]) == team
    store.rules()(questionnaire_assigned("client-1", "ther-8"))
    assert sorted(teams.members(CARE_TEAM, "client-1")) == team + ["ther-8"]
    assert store.database[config.MEMBERSHIPS].count_documents({"group": CARE_TEAM, "client_id": "client-1"}) == 4
