"""Every metrics endpoint ops scrape, with real traffic through the real processes.

The three APIs run under gunicorn and the three workers as ``python -m services.<name>.worker``,
each with its own ``PROMETHEUS_MULTIPROC_DIR`` as in the images, against the real broker and
database. A client's risky PHQ-9 goes through all of them and a therapist acknowledges the alert.
Then: promtool accepts every page, each series ops rely on is there and has moved, and every
metric a dashboard panel or an alert rule reads (deploy/observability/) is one a service exports.
gunicorn's own lines and the workers' lines are JSON, hold no health data, and a worker's line
about a handled event carries the event's correlation id.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pika
import pytest
import requests
from prometheus_client import REGISTRY

from scripts.demo import FIRST_PHQ9, Story
from shared.events import amqp
from shared.events.consumer import Subscription, queue_name
from shared.events.envelope import new_event
from shared.events.outbox import with_events
from shared.events.publisher import Publisher
from shared.journal import insert_document
from shared.mongo import Database
from shared.worker import Worker
from tests.conftest import JWT_SECRET
from tests.support.harness import Harness, wait_for
from tests.support.metrics import ROOT, Page, promtool_run
from tests.support.observability import metric_names_used
from tests.support.processes import answers, stop

pytestmark = pytest.mark.integration

SERVICES = ("goals", "questionnaires", "notifications")
# Each worker's consumers (its queues are <prefix>.<consumer>).
CONSUMERS = {"goals": ("goals.scores",), "questionnaires": (),
             "notifications": ("notifications.risk", "notifications.rules", "notifications.webhooks")}
JOBS = {"goals": ("goals.due-soon", "goals.refresh", "retention", "outbox-repair"),
        "questionnaires": ("questionnaires.reminders", "retention", "outbox-repair"),
        "notifications": ("email-deliveries", "webhook-deliveries", "escalations", "retention", "outbox-repair")}
FAST = {"goals": {}, "questionnaires": {"REMINDER_CHECK_SECONDS": "0.5"},
        "notifications": {"DELIVERY_POLL_SECONDS": "0.2", "ESCALATION_POLL_SECONDS": "0.5"}}
ANSWERS_TEXT = "[2, 2, 2, 2, 2, 2, 2, 1, 1]"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    harness: Harness
    apis: dict[str, str] = field(default_factory=dict)  # service -> base URL
    workers: dict[str, str] = field(default_factory=dict)  # service -> metrics URL
    logs: dict[str, Path] = field(default_factory=dict)  # "<service>-api" / "<service>-worker" -> its output

    def endpoints(self) -> dict[str, str]:
        return {**{f"{s}-api": f"{url}/metrics" for s, url in self.apis.items()},
                **{f"{s}-worker": url for s, url in self.workers.items()}}

    def page(self, endpoint: str) -> Page:
        return Page.of(self.endpoints()[endpoint])

    def queue(self, consumer: str) -> str:
        return queue_name(self.harness.queue_prefix, consumer)


@pytest.fixture(scope="module")
def stack(mongo_url, amqp_url, tmp_path_factory):
    base = tmp_path_factory.mktemp("stack")
    processes: list[subprocess.Popen] = []
    with Harness(mongo_url, amqp_url, JWT_SECRET) as harness:
        built = Stack(harness)
        try:
            for service in SERVICES:
                env = {**os.environ, **harness.env(service, LOG_LEVEL="INFO", HOST="127.0.0.1", **FAST[service]),
                       "PYTHONPATH": str(ROOT)}
                api_port, metrics_port = free_port(), free_port()
                for role, args, extra in (
                    ("api", ["-m", "gunicorn", "-c", f"services/{service}/gunicorn.conf.py",
                             f"services.{service}.app:create_app()"],
                     {"PORT": str(api_port), "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2",
                      "GUNICORN_CMD_ARGS": "--access-logfile -"}),
                    ("worker", ["-m", f"services.{service}.worker"],
                     {"WORKER_METRICS_PORT": str(metrics_port), "WORKER_HEARTBEAT_FILE": str(base / f"{service}.hb")}),
                ):
                    name = f"{service}-{role}"
                    multiproc = base / f"{name}-prometheus"
                    multiproc.mkdir()
                    built.logs[name] = base / f"{name}.log"
                    with built.logs[name].open("wb") as output:
                        processes.append(subprocess.Popen(
                            [sys.executable, *args], cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
                            env={**env, **extra, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)},
                        ))
                built.apis[service] = f"http://127.0.0.1:{api_port}"
                built.workers[service] = f"http://127.0.0.1:{metrics_port}/metrics"
                for consumer in CONSUMERS[service]:
                    harness.track_queue(built.queue(consumer), harness.settings(service).retry_delays)
            for endpoint, url in built.endpoints().items():
                wait_for(lambda url=url: answers(url), timeout=60, what=f"{endpoint} to serve its metrics")
            # Every consumer is on its queue (the broker counts it) before any event is raised.
            for service, consumers in CONSUMERS.items():
                for consumer in consumers:
                    wait_for(lambda service=service, consumer=consumer: built.page(f"{service}-worker").value(
                        "stepwise_queue_consumers", queue=built.queue(consumer)) == 1,
                        timeout=30, what=f"{consumer} consuming")
            yield built
        finally:
            stop(processes)


@pytest.fixture(scope="module")
def traffic(stack):
    """A risky PHQ-9 through every service, its alert acknowledged, and a poison message; returns
    the pages scraped before it all and the alert."""
    before = {endpoint: stack.page(endpoint) for endpoint in stack.endpoints()}
    story = Story(goals=stack.apis["goals"], questionnaires=stack.apis["questionnaires"],
                  notifications=stack.apis["notifications"], jwt_secret=JWT_SECRET, say=lambda line: None)
    began = datetime.now(timezone.utc) - timedelta(weeks=2)
    story.set_up_the_care_team("bo@clinic.example", "ada@client.example")
    story.set_the_goal(began.date())
    story.assign_phq9(began)
    story.submit_phq9(FIRST_PHQ9, began)
    alerts_url = f"{stack.apis['notifications']}/v1/alerts"
    alert = wait_for(lambda: story.call("GET", alerts_url, "therapist", story.therapist, 200)["items"],
                     timeout=20, what="the risk alert")[0]
    wait_for(lambda: [n for n in story.inbox("therapist", story.therapist) if n["type"] == "risk_alert"],
             timeout=20, what="the alert in the therapist's inbox")
    # Unacknowledged, it is counted as such before anyone acknowledges it.
    wait_for(lambda: stack.page("notifications-worker").value(
        "stepwise_risk_alerts_unacknowledged", older_than_seconds="0") == 1, what="the alert counted as unacknowledged")
    story.call("POST", f"{alerts_url}/{alert['id']}/acknowledge", "therapist", story.therapist, 200)
    # A message no consumer can read goes to the dead letters at once.
    connection = amqp.connect(stack.harness.amqp_url)
    connection.channel().basic_publish("", stack.queue("goals.scores"), b"not a cloudevent",
                                       pika.BasicProperties(delivery_mode=2))
    connection.close()
    return before, alert


def test_promtool_accepts_every_metrics_page(stack, traffic):
    for endpoint, url in stack.endpoints().items():
        text = requests.get(url, timeout=10).text
        result = promtool_run("check", "metrics", stdin=text)
        assert result.returncode == 0, f"{endpoint}: {result.stdout}{result.stderr}"


def test_every_endpoint_says_what_runs_and_how_much_waits_in_its_outbox(stack, traffic):
    for endpoint in stack.endpoints():
        page = stack.page(endpoint)
        service = endpoint.rsplit("-", 1)[0]
        assert page.value("stepwise_build_info", service_name=service) == 1, endpoint
        # Everything raised was published: nothing waits, so the oldest waiting is 0 s old.
        wait_for(lambda endpoint=endpoint: stack.page(endpoint).value("stepwise_outbox_backlog") == 0, what=f"{endpoint}: empty outbox")
        assert stack.page(endpoint).value("stepwise_outbox_oldest_event_age_seconds") == 0


def test_the_apis_count_requests_and_the_acknowledgement(stack, traffic):
    before, _ = traffic
    for service in SERVICES:
        page = stack.page(f"{service}-api")
        assert page.value("stepwise_http_requests_total", route="/metrics", method="GET", status="200") >= 1
    page = stack.page("notifications-api")
    was = before["notifications-api"].value("stepwise_risk_alert_acknowledge_delay_seconds_count") or 0
    assert page.value("stepwise_risk_alert_acknowledge_delay_seconds_count") == was + 1


def test_the_workers_count_handling_lag_queues_alerts_and_jobs(stack, traffic):
    before, _ = traffic
    goals = wait_for(lambda: (page := stack.page("goals-worker")).value(
        "stepwise_dead_letter_messages", queue=stack.queue("goals.scores")) == 1 and page, what="the dead letter counted")
    assert goals.value("stepwise_event_handler_duration_seconds_count",
                       consumer="goals.scores", type="stepwise.questionnaire.scored.v1") >= 1
    assert goals.value("stepwise_queue_messages", queue=stack.queue("goals.scores")) == 0
    assert goals.value("stepwise_consumer_lag_seconds", consumer="goals.scores") is not None

    notifications = wait_for(lambda: (page := stack.page("notifications-worker")).value(
        "stepwise_risk_alerts_unacknowledged", older_than_seconds="0") == 0 and page,
        what="no alert left unacknowledged")
    assert notifications.value("stepwise_risk_alert_oldest_unacknowledged_age_seconds") == 0
    was = before["notifications-worker"].value("stepwise_risk_alert_latency_seconds_count") or 0
    assert notifications.value("stepwise_risk_alert_latency_seconds_count") == was + 1
    assert notifications.value("stepwise_event_handler_duration_seconds_count",
                               consumer="notifications.risk", type="stepwise.risk.flagged.v1") == 1
    for consumer in CONSUMERS["notifications"]:
        assert notifications.value("stepwise_dead_letter_messages", queue=stack.queue(consumer)) == 0

    for service, jobs in JOBS.items():
        page = stack.page(f"{service}-worker")
        for job in jobs:
            assert page.value("stepwise_job_interval_seconds", name=job) > 0, (service, job)
            assert page.value("stepwise_job_last_success_timestamp_seconds", name=job) > time.time() - 600, (service, job)
    # A job that runs every half second shows a later success at the next scrape.
    first = stack.page("questionnaires-worker").value("stepwise_job_last_success_timestamp_seconds",
                                                      name="questionnaires.reminders")
    wait_for(lambda: stack.page("questionnaires-worker").value(
        "stepwise_job_last_success_timestamp_seconds", name="questionnaires.reminders") > first,
        what="the reminder job's success time to move")


def declared_series() -> set[str]:
    """The series of every metric the services' code declares (a labelled counter appears on a
    page only once counted: no unroutable event went by here, yet its counter is exported)."""
    import services.goals.worker, services.notifications.app, services.notifications.worker  # noqa: F401,E401
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    return {family.name + suffix for family in REGISTRY.collect() for suffix in suffixes.get(family.type, ("",))}


def test_every_metric_the_dashboards_and_rules_read_is_exported(stack, traffic):
    exported = set().union(*(stack.page(endpoint).names() for endpoint in stack.endpoints()), declared_series())
    used = metric_names_used()
    assert used, "no metric found in deploy/observability"
    assert not used - exported, f"read by dashboards or rules but exported by no service: {sorted(used - exported)}"


def test_gunicorn_and_worker_lines_are_json_without_health_data(stack, traffic):
    for name, path in stack.logs.items():
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        assert lines, name
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except ValueError:
                pytest.fail(f"{name} wrote a line that is not JSON: {line[:200]}")
        text = json.dumps(entries)
        for private in (ANSWERS_TEXT, "self_harm", "moderately_severe", "PHQ-9 below 10", "client-ada"):
            assert private not in text, (name, private)
        if name.endswith("-api"):
            assert any(e["logger"] == "gunicorn.error" and e["message"].startswith("Listening at") for e in entries)
            access = [e for e in entries if e["logger"] == "gunicorn.access"]
            assert access and all(e["correlation_id"] and "path" not in e for e in access), name
    # A worker's lines about a handled event, and the delivery job's about a delivery made for
    # one, carry the correlation id of the request that caused it.
    goals = [json.loads(line) for line in stack.logs["goals-worker"].read_text().splitlines() if line.strip()]
    fed = [e for e in goals if e["message"] == "score fed to goals"]
    assert fed and all(e.get("correlation_id") for e in fed)
    notifications = [json.loads(line) for line in stack.logs["notifications-worker"].read_text().splitlines()
                     if line.strip()]
    attempts = [e for e in notifications if e["message"] == "delivery attempt recorded"]
    assert attempts and all(e.get("correlation_id") for e in attempts)


def test_an_event_waiting_in_the_outbox_is_counted_with_its_age(harness):
    """A worker with no relay for a collection's events: they wait, and the oldest ages."""
    settings = harness.settings("outbox")
    database = Database(settings.mongo_url, settings.database)
    worker = harness.start(Worker(settings=settings, database=database))
    url = f"http://127.0.0.1:{worker.serve_metrics(0, '127.0.0.1')}/metrics"
    assert Page.of(url).value("stepwise_outbox_backlog") == 0
    event = new_event("goal.achieved", tenant="clinic-a", subject="g-1", data={"goal_id": "g-1", "client_id": "c-1"})
    insert_document(database["goal_history"], with_events({"_id": "h-1"}, [event], datetime.now(timezone.utc)))
    page = wait_for(lambda: (p := Page.of(url)).value("stepwise_outbox_oldest_event_age_seconds") > 0.5 and p,
                    what="the waiting event to age")
    assert page.value("stepwise_outbox_backlog") == 1


def test_consumer_lag_is_the_oldest_events_age_while_it_is_handled_and_queue_depth_moves(harness):
    """In one process, a handler held back: the lag shows the age of the old event it holds, the
    queue's depth the events behind it; once released, both go back to 0."""
    settings = harness.settings("lag", PREFETCH="1")
    database = Database(settings.mongo_url, settings.database)
    release = threading.Event()
    holding = threading.Event()

    def held(event: dict) -> None:
        holding.set()
        release.wait(30)

    worker = harness.start(Worker(settings=settings, database=database,
                                  subscriptions=[Subscription("held", ["goal.#"], held)]))
    port = worker.serve_metrics(0, "127.0.0.1")
    url = f"http://127.0.0.1:{port}/metrics"
    queue = queue_name(settings.queue_prefix, "held")
    an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    publisher = Publisher(harness.amqp_url, harness.exchange)
    for number in range(3):
        publisher.publish(new_event("goal.achieved", tenant="clinic-a", subject=f"g-{number}",
                                    data={"goal_id": f"g-{number}", "client_id": "c-1"}, time=an_hour_ago))
    publisher.close()
    try:
        assert holding.wait(20)
        page = wait_for(lambda: (p := Page.of(url)).value("stepwise_queue_messages", queue=queue) == 2 and p,
                        what="two events waiting behind the held one")
        assert page.value("stepwise_consumer_lag_seconds", consumer="held") >= 3600
        assert page.value("stepwise_queue_consumers", queue=queue) == 1
    finally:
        release.set()
    wait_for(lambda: Page.of(url).value("stepwise_queue_messages", queue=queue) == 0, what="the queue drained")
    wait_for(lambda: Page.of(url).value("stepwise_consumer_lag_seconds", consumer="held") == 0,
             what="the lag back to 0 once the queue is empty")
