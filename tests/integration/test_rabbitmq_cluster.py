"""Risk alerts through a three-node RabbitMQ cluster that loses a node mid-load.

``scripts/rabbitmq-cluster`` starts three nodes of the repo's own (beside the main broker) and
stops them after the module. The questionnaires and notifications workers run against all three
(``AMQP_URL`` names every node), the APIs over real HTTP. A client submits risky PHQ-9s one after
another while the node that leads ``notifications.risk`` (a quorum queue, replicated on all three)
is lost: its app stopped in one test, its Erlang VM killed in the other. Every submission must
still reach the therapist as exactly one alert: one inbox entry per alert, one alert per response.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterator

import pytest

from scripts.demo import FIRST_PHQ9, Story
from services.notifications import config as notifications_config
from services.notifications.app import create_app as notifications_app
from services.notifications.worker import build_worker as notifications_worker
from services.questionnaires import config as questionnaires_config
from services.questionnaires.app import create_app as questionnaires_app
from services.questionnaires.worker import build_worker as questionnaires_worker
from shared.events.consumer import queue_name
from tests.conftest import JWT_SECRET
from tests.support.harness import Harness, wait_for
from tests.support.rabbitmq_cluster import RabbitMQCluster

pytestmark = pytest.mark.integration

THERAPIST_EMAIL = "bo@clinic.example"
CLIENT_EMAIL = "ada@client.example"
# Submissions before the node is lost, and at least this many after it is gone.
BEFORE_LOSS = 10
AFTER_LOSS = 10
# A bound on the load while the node is being lost (the loss takes a few seconds).
MOST_SUBMISSIONS = 400


@pytest.fixture(scope="module")
def cluster() -> Iterator[RabbitMQCluster]:
    nodes = RabbitMQCluster()
    try:
        yield nodes
    finally:
        nodes.stop()


class ClusterHarness(Harness):
    """A test's slice of the cluster. Its queues go with the cluster at the end of the module, so
    the test leaves them (deleting a quorum queue waits for a member the test may have lost)."""

    def _delete_queues(self) -> None:
        pass


@dataclass
class Clinic:
    """The two services on the cluster, a client with a care team, and the client's submissions."""

    harness: Harness
    story: Story
    submitted: list[str] = field(default_factory=list)  # response ids, in order

    def submit_risky_phq9(self) -> None:
        response = self.story.submit_phq9(FIRST_PHQ9, datetime.now(timezone.utc))
        assert [flag["code"] for flag in response["score"]["flags"]] == ["self_harm_risk"]
        self.submitted.append(response["id"])

    def risk_alerts_in_the_inbox(self) -> list[dict]:
        return [item for item in self.story.inbox("therapist", self.story.therapist) if item["type"] == "risk_alert"]


@pytest.fixture
def clinic(cluster, mongo_url, smtp_server) -> Iterator[Clinic]:
    cluster.start()  # every node runs (one an earlier test lost comes back)
    with ClusterHarness(mongo_url, cluster.amqp_url, JWT_SECRET) as harness:
        questionnaires = harness.settings("questionnaires", questionnaires_config.OPTIONS)
        notifications = harness.settings("notifications", notifications_config.OPTIONS, SMTP_URL=smtp_server[0])
        harness.start(questionnaires_worker(questionnaires))
        harness.start(notifications_worker(notifications))
        story = Story(goals="", questionnaires=harness.serve(questionnaires_app(questionnaires)),
                      notifications=harness.serve(notifications_app(notifications)), jwt_secret=JWT_SECRET,
                      say=lambda line: None)
        story.set_up_the_care_team(THERAPIST_EMAIL, CLIENT_EMAIL)
        yield Clinic(harness, story)


def load_across(clinic: Clinic, lose_the_node: Callable[[], None]) -> None:
    """Submit risky PHQ-9s in a thread of their own; once ``BEFORE_LOSS`` are in, lose the node,
    and go on submitting until ``AFTER_LOSS`` more are in after the node is gone."""
    lost = threading.Event()
    failures: list[BaseException] = []

    def submit() -> None:
        try:
            after = 0
            while after < AFTER_LOSS and len(clinic.submitted) < MOST_SUBMISSIONS:
                clinic.submit_risky_phq9()
                after += lost.is_set()
        except BaseException as exc:  # the assertion is the test's, in its own thread
            failures.append(exc)

    load = threading.Thread(target=submit, name="risky-submissions")
    load.start()
    try:
        wait_for(lambda: len(clinic.submitted) >= BEFORE_LOSS or failures, timeout=60, what="the first submissions")
        lose_the_node()
        lost.set()
    finally:
        load.join(120)
    assert not failures, failures
    assert len(clinic.submitted) < MOST_SUBMISSIONS, "the node loss took longer than the load"


def assert_every_alert_arrives_exactly_once(clinic: Clinic) -> None:
    expected = len(clinic.submitted)
    wait_for(lambda: len(clinic.risk_alerts_in_the_inbox()) >= expected, timeout=90,
             what=f"{expected} risk alerts in the therapist's inbox")
    risk_queue = queue_name(clinic.harness.queue_prefix, "notifications.risk")
    # Nothing left to deliver: a duplicate could only come from a message still in the queue.
    wait_for(lambda: clinic.harness.message_count(risk_queue) == 0, timeout=30, what="an empty risk queue")
    inbox = clinic.risk_alerts_in_the_inbox()
    assert len(inbox) == expected
    assert all(count == 1 for count in Counter(item["alert_id"] for item in inbox).values())
    alerts = clinic.story.alerts()
    assert sorted(alert["response_id"] for alert in alerts) == sorted(clinic.submitted)
    assert {alert["id"] for alert in alerts} == {item["alert_id"] for item in inbox}


@pytest.mark.parametrize("lose", ["stop_app", "kill"])
def test_every_alert_arrives_once_when_the_risk_queue_leader_is_lost(cluster, clinic, lose):
    """``stop_app``: the node closes its clients' connections and leaves the cluster in order.
    ``kill``: its Erlang VM dies at once, with no goodbye to clients or peers."""
    risk_queue = queue_name(clinic.harness.queue_prefix, "notifications.risk")
    leader = cluster.leader(risk_queue)
    load_across(clinic, lambda: getattr(cluster, lose)(leader))
    wait_for(lambda: cluster.leader(risk_queue) != leader, timeout=30, what="another node leading the risk queue")
    assert_every_alert_arrives_exactly_once(clinic)
