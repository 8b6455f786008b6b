"""Two replicas of every worker at once, under a clinic's mixed load, counted.

The three services' APIs over real HTTP, and two workers of each service (each with its own
connections, as two processes would have) on one exchange. Several clients each get a care team, a
goal measured by PHQ-9, a PHQ-9 assignment that is due (reminders), and submit a risky PHQ-9
then a better one; nobody acknowledges the alerts, so they escalate; a webhook subscriber takes
every goal, questionnaire and risk event, and everyone has email on.

What must hold: both replicas of each consumer take part of its queue's work; nothing is lost;
each reminder, alert and escalation is raised once although both replicas run the periodic jobs;
each email and each webhook delivery is sent once although both replicas deliver.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
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
from shared.events.consumer import Subscription
from shared.journal import JOURNAL
from shared.mongo import Database
from shared.worker import Worker
from tests.conftest import JWT_SECRET
from tests.support.harness import wait_for

pytestmark = pytest.mark.integration

CLIENTS = 4
REPLICAS = 2
WEBHOOK_SECRET = "two-replicas-webhook-secret-0123456789"
SUBSCRIBED = ("goal.", "questionnaire.", "risk.")
# Each look reads inboxes over HTTP: twice a second leaves the database to the workers.
LOOK_EVERY = 0.5


def therapist_email(story: Story) -> str:
    return f"{story.therapist}@clinic.example"


def client_email(story: Story) -> str:
    return f"{story.client}@home.example"


class Tally:
    """Events each replica's handlers took, per consumer: wraps the handlers, changes nothing."""

    def __init__(self):
        self.counts: Counter = Counter()
        self._lock = threading.Lock()

    def count(self, worker: Worker, replica: int) -> Worker:
        for consumer in worker.consumers:
            subscription = consumer.subscription
            consumer.subscription = Subscription(subscription.consumer, subscription.patterns,
                                                 self._counting(subscription, replica))
        return worker

    def _counting(self, subscription: Subscription, replica: int):
        def handle(event: dict) -> None:
            subscription.handler(event)
            with self._lock:
                self.counts[(subscription.consumer, replica)] += 1

        return handle


@pytest.fixture
def clinic(harness, smtp_server):
    """The three APIs, two workers of each service, and one Story per client in one clinic."""
    smtp_url, mailbox = smtp_server
    fast = {"OUTBOX_POLL_SECONDS": "0.05"}
    settings = {
        "goals": harness.settings("goals", goals_config.OPTIONS, **fast),
        "questionnaires": harness.settings("questionnaires", questionnaires_config.OPTIONS,
                                           REMINDER_CHECK_SECONDS="0.2", **fast),
        # Alerts escalate 3 s after they are raised; both replicas look every 0.2 s.
        "notifications": harness.settings("notifications", notifications_config.OPTIONS, SMTP_URL=smtp_url,
                                          WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
                                          DELIVERY_POLL_SECONDS="0.1", ESCALATION_POLL_SECONDS="0.2",
                                          ALERT_ESCALATE_AFTER_MINUTES="0.05", **fast),
    }
    builders = {"goals": goals_worker, "questionnaires": questionnaires_worker, "notifications": notifications_worker}
    tally = Tally()
    for service, build in builders.items():
        for replica in range(REPLICAS):
            harness.start(tally.count(build(settings[service]), replica))
    urls = {
        "goals": harness.serve(goals_app(settings["goals"])),
        "questionnaires": harness.serve(questionnaires_app(settings["questionnaires"])),
        "notifications": harness.serve(notifications_app(settings["notifications"])),
    }
    tenant = f"clinic-{harness.unique}"
    stories = [Story(**urls, jwt_secret=JWT_SECRET, tenant=tenant, client=f"client-{n}", say=lambda line: None)
               for n in range(CLIENTS)]
    databases = {service: Database(harness.mongo_url, s.database) for service, s in settings.items()}
    try:
        yield stories, tally, mailbox, databases
    finally:
        for database in databases.values():
            database.close()


def test_two_replicas_of_every_worker_share_the_work_and_do_each_thing_once(clinic, harness, receiver):
    stories, tally, mailbox, databases = clinic
    watch = harness.bind_queue(["#"])
    published: dict[str, dict] = {}

    def events() -> dict[str, dict]:
        for _, body in harness.drain(watch):
            event = json.loads(body)
            published.setdefault(event["id"], event)
        return published

    def raised(kind: str) -> int:
        return sum(event["type"] == f"stepwise.{kind}.v1" for event in events().values())

    def inbox(story: Story, role: str, user: str, kind: str) -> list[dict]:
        return [item for item in story.inbox(role, user) if item["type"] == kind]

    first, therapist, admin = stories[0], stories[0].therapist, stories[0].admin
    began = datetime.now(timezone.utc) - timedelta(days=1)
    for story in stories:
        story.set_up_the_care_team(therapist_email(story), client_email(story))
    first.subscribe_webhook(receiver.url, WEBHOOK_SECRET)
    for story in stories:
        story.set_the_goal(began.date())
        story.assign_phq9(began)  # its first occurrence is due: a reminder
    # Both questionnaires replicas run the reminder job: each occurrence is reminded once.
    for story in stories:
        wait_for(lambda story=story: inbox(story, "client", story.client, "reminder"), timeout=30, every=LOOK_EVERY,
                 what=f"{story.client}'s reminder")
    for story in stories:
        story.submit_phq9(FIRST_PHQ9, began + timedelta(hours=1))  # item 9 answered: a risk alert
        story.submit_phq9(LATER_PHQ9[0], began + timedelta(hours=2))

    # Every alert reaches the therapist and, unacknowledged, escalates to the admin (both
    # notifications replicas run the escalation job).
    wait_for(lambda: len(inbox(first, "therapist", therapist, "risk_alert")) >= CLIENTS, timeout=30,
             every=LOOK_EVERY, what="every risk alert")
    wait_for(lambda: len(inbox(first, "admin", admin, "risk_alert_escalated")) >= CLIENTS, timeout=30,
             every=LOOK_EVERY, what="every escalation")
    # Every scored response moves its goal (the goals consumer, on both replicas).
    wait_for(lambda: raised("goal.progress_recorded") >= 2 * CLIENTS, timeout=30, every=LOOK_EVERY,
             what="every goal's progress")
    wait_for(lambda: all(db[JOURNAL].count_documents({}) == 0 for db in databases.values()), timeout=30,
             every=LOOK_EVERY, what="every outbox relayed")

    def delivered_to_the_webhook() -> bool:
        wanted = {i for i, e in events().items() if e["type"].removeprefix("stepwise.").startswith(SUBSCRIBED)}
        return bool(wanted) and wanted <= {json.loads(body)["id"] for _, body in receiver.requests}

    wait_for(delivered_to_the_webhook, timeout=60, every=LOOK_EVERY, what="every subscribed event at the webhook")
    # Raised once each, although two replicas run every job, consumer and relay.
    for kind, count in (("risk.flagged", CLIENTS), ("questionnaire.due", CLIENTS), ("questionnaire.assigned", CLIENTS),
                        ("questionnaire.scored", 2 * CLIENTS), ("goal.created", CLIENTS),
                        ("goal.progress_recorded", 2 * CLIENTS)):
        assert raised(kind) == count, kind
    assert len(inbox(first, "therapist", therapist, "risk_alert")) == CLIENTS
    assert len(inbox(first, "admin", admin, "risk_alert_escalated")) == CLIENTS
    for story in stories:
        assert len(inbox(story, "client", story.client, "reminder")) == 1
    # Each webhook delivery once: no event twice at the subscriber.
    received = Counter(json.loads(body)["id"] for _, body in receiver.requests)
    assert received and max(received.values()) == 1

    # Each email once: as many emails to each person as notifications in their inbox.
    def expected_emails() -> Counter:
        wanted = Counter({therapist_email(first): len(first.inbox("therapist", therapist))})
        for story in stories:
            wanted[client_email(story)] = len(story.inbox("client", story.client))
        return wanted

    def sent_emails() -> Counter:
        return Counter(rcpt for rcpts, _ in list(mailbox.messages) for rcpt in rcpts)

    wait_for(lambda: all(sent_emails()[address] >= count for address, count in expected_emails().items()),
             timeout=60, every=LOOK_EVERY, what="every email")
    sent = sent_emails()
    assert {address: sent[address] for address in expected_emails()} == dict(expected_emails())

    # Both replicas of each consumer took part of its queue's work.
    for consumer in ("goals.scores", "notifications.risk", "notifications.rules", "notifications.webhooks"):
        shares = [tally.counts[(consumer, replica)] for replica in range(REPLICAS)]
        assert all(share > 0 for share in shares), f"{consumer}: {shares}"
