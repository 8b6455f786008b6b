"""One trace across the three services: a risky PHQ-9, sent with the caller's ``traceparent``, is
followed through the questionnaires API, the outbox and its relay, RabbitMQ, the goals and
notifications consumers, to the therapist's inbox and email and to a signed webhook that carries
``traceparent`` itself.

The services and workers run in this process (``tests/support/stack.py``) against the real
broker, database, SMTP server and webhook receiver; the spans go to the SDK's in-memory exporter.
Also: a retried event stays in its trace, a malformed ``traceparent`` never stops an event, and
an API under gunicorn and its worker, run as processes, export their spans to an OTLP collector.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import SpanKind, StatusCode

from scripts.demo import FIRST_PHQ9
from shared.events import amqp
from shared.events.consumer import Subscription, queue_name, was_handled
from shared.events.envelope import new_event
from shared.events.publisher import Publisher
from shared.logs import JsonFormatter
from shared.mongo import Database, insert_once
from shared.worker import Worker
from tests.support.harness import wait_for
from tests.support.peers import free_port
from tests.support.processes import answers, stop
from tests.support.spans import hex_id, new_traceparent

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

WEBHOOK_SECRET = "tracing-webhook-secret-0123456789"
THERAPIST_EMAIL = "bo@clinic.example"
CLIENT_EMAIL = "ada@client.example"
# How long to wait for what the workers do (a condition polled, not a sleep): generous, because
# how soon an alert arrives is test_journey's to check, and this machine may be busy.
PATIENCE_SECONDS = 30


@pytest.fixture
def log_lines(stack):
    """The JSON log lines written from now on (at INFO), as dicts."""
    lines: list[dict] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    keep = Keep()
    keep.setFormatter(JsonFormatter("test"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(keep)
    root.setLevel(logging.INFO)
    yield lines
    root.removeHandler(keep)
    root.setLevel(level)


def test_a_risky_phq9_is_one_trace_from_the_request_to_the_inbox_email_and_webhook(
    spans, stack, harness, receiver, log_lines
):
    story, mailbox, watch = stack
    began = datetime.now(timezone.utc) - timedelta(days=1)
    # The set-up is a trace of its own, so that what the risky answer causes is told apart.
    setup_parent, setup_trace, _ = new_traceparent()
    story.session.headers["traceparent"] = setup_parent
    story.set_up_the_care_team(THERAPIST_EMAIL, CLIENT_EMAIL)
    story.subscribe_webhook(receiver.url, WEBHOOK_SECRET)
    story.set_the_goal(began.date())
    story.assign_phq9(began)

    log_lines.clear()
    traceparent, trace_id, caller_span = new_traceparent()
    story.session.headers.update({"traceparent": traceparent, "tracestate": "clinic=portal-7"})
    response = story.submit_phq9(FIRST_PHQ9, began)
    for header in ("traceparent", "tracestate"):
        del story.session.headers[header]
    assert response["score"]["flags"], "the answers must signal risk"

    def in_trace() -> list:
        return [span for span in spans.get_finished_spans() if hex_id(span.context.trace_id, 32) == trace_id]

    def named(name: str, group: str | None = None) -> list:
        return [s for s in in_trace() if s.name == name
                and (group is None or s.attributes.get("messaging.consumer.group.name") == group)]

    # The spans the story is expected to make, each in the caller's trace.
    expected = [
        ("POST /v1/responses", None),
        ("publish questionnaire.scored", None),
        ("publish risk.flagged", None),
        ("process risk.flagged", "notifications.risk"),
        ("process risk.flagged", "notifications.webhooks"),
        ("process questionnaire.scored", "goals.scores"),
        ("process questionnaire.scored", "notifications.rules"),
        ("publish goal.progress_recorded", None),
        ("deliver email", None),
        ("deliver webhook", None),
        ("POST", None),
    ]
    wait_for(lambda: all(named(name, group) for name, group in expected), timeout=PATIENCE_SECONDS,
             what="every expected span of the story")

    # One tree: the request continues the caller's span, and every other span hangs from a span of
    # the story (a consumer from the request or from the consumer that raised its event). A span
    # is seen once it ends, after its children: wait for a moment when none is still open.
    [request] = named("POST /v1/responses")
    assert request.kind == SpanKind.SERVER
    assert hex_id(request.parent.span_id, 16) == caller_span
    assert request.attributes["http.route"] == "/v1/responses"
    assert request.attributes["http.response.status_code"] == 201

    def orphans() -> list[str]:
        story_spans = in_trace()
        ids = {s.context.span_id for s in story_spans} | {request.parent.span_id}
        return [s.name for s in story_spans if s.parent is None or s.parent.span_id not in ids]

    wait_for(lambda: not orphans(), timeout=PATIENCE_SECONDS, what="every span of the trace to hang from the story's")
    # Each step succeeded (a step may also show a failed try before it: delivery is at least once).
    for name, group in expected:
        assert any(span.status.is_ok for span in named(name, group)), (name, group)

    # The events the answer raised carry the caller's trace in their envelope (the CloudEvents
    # distributed-tracing extension), and every span about them is in that trace.
    published = [json.loads(body) for _, body in harness.drain(watch)]
    raised = [e for e in published if (e.get("data") or {}).get("response_id") == response["id"]]
    assert {e["type"] for e in raised} == {"stepwise.questionnaire.scored.v1", "stepwise.risk.flagged.v1"}
    for event in raised:
        assert event["traceparent"].split("-")[1] == trace_id
        assert event["tracestate"] == "clinic=portal-7"
    raised_ids = {e["id"] for e in raised}
    about_them = [s for s in spans.get_finished_spans() if s.attributes.get("messaging.message.id") in raised_ids]
    assert len(about_them) >= 2 * len(raised)
    assert all(hex_id(s.context.trace_id, 32) == trace_id for s in about_them)
    # The set-up's requests are spans of a trace of their own.
    setup_spans = [s for s in spans.get_finished_spans() if hex_id(s.context.trace_id, 32) == setup_trace]
    assert {"PUT /v1/care-teams/<client_id>", "POST /v1/subscriptions"} <= {s.name for s in setup_spans}

    # The therapist's urgent inbox entry and email came out of the trace's spans.
    wait_for(lambda: [n for n in story.inbox("therapist", story.therapist) if n["type"] == "risk_alert"],
             timeout=PATIENCE_SECONDS, what="the urgent alert in the therapist's inbox")
    assert mailbox.to(THERAPIST_EMAIL), "the alert email"
    assert any(s.attributes["stepwise.delivery.outcome"] == "delivered" for s in named("deliver email"))

    # The webhook that delivered the risk flag carries the trace: its traceparent names a POST span.
    def risk_posts() -> list[dict]:
        return [{k.lower(): v for k, v in headers.items()} for headers, body in receiver.requests
                if json.loads(body)["type"] == "stepwise.risk.flagged.v1"]

    [posted] = wait_for(risk_posts, timeout=PATIENCE_SECONDS, what="the risk flag at the webhook")
    _version, header_trace, parent_span, flags = posted["traceparent"].split("-")
    assert (header_trace, flags) == (trace_id, "01")
    post = wait_for(lambda: next((s for s in named("POST") if hex_id(s.context.span_id, 16) == parent_span), None),
                    timeout=PATIENCE_SECONDS, what="the webhook POST's span")
    assert post.kind == SpanKind.CLIENT
    assert post.attributes["http.response.status_code"] == 204
    assert posted["tracestate"] == "clinic=portal-7"

    # Log lines written while handling the story carry its trace id (the request's, a delivery's).
    traced = {line["message"] for line in log_lines if line.get("trace_id") == trace_id}
    assert {"request", "delivery attempt recorded"} <= traced


def _publish(harness, event: dict) -> None:
    publisher = Publisher(harness.amqp_url, harness.exchange)
    publisher.publish(event)
    publisher.close()


def _process_spans(spans, event_id: str) -> list:
    return [s for s in spans.get_finished_spans()
            if s.kind == SpanKind.CONSUMER and s.attributes.get("messaging.message.id") == event_id]


def test_a_retried_event_stays_in_its_trace_and_a_failure_is_marked_by_its_class_only(spans, harness):
    settings = harness.settings("backbone", RETRY_DELAYS="0.1,0.1")
    database = Database(settings.mongo_url, settings.database)

    def flaky(event: dict) -> None:
        if insert_once(database["first_try"], {"_id": event["id"]}):
            raise RuntimeError("client-7f3a answered 3 to item 9")  # a message that must not be exported

    harness.start(Worker(settings=settings, database=database, subscriptions=[Subscription("flaky", ["goal.#"], flaky)]))
    traceparent, trace_id, caller_span = new_traceparent()
    event = {**new_event("goal.achieved", tenant="clinic-a", subject="g-1", data={"goal_id": "g-1", "client_id": "c-1"}),
             "traceparent": traceparent}
    _publish(harness, event)

    wait_for(lambda: was_handled(database, "flaky", event["id"]), timeout=PATIENCE_SECONDS, what="the retried event handled")
    failed, retried = sorted(wait_for(lambda: len(found := _process_spans(spans, event["id"])) == 2 and found,
                                      timeout=PATIENCE_SECONDS, what="both tries' spans"), key=lambda s: s.start_time)
    for span in (failed, retried):
        assert hex_id(span.context.trace_id, 32) == trace_id
        assert hex_id(span.parent.span_id, 16) == caller_span
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.attributes["error.type"] == "RuntimeError"
    assert (failed.attributes["stepwise.attempt"], retried.attributes["stepwise.attempt"]) == (0, 1)
    assert retried.status.is_ok
    exported = json.dumps([json.loads(s.to_json()) for s in spans.get_finished_spans()])
    assert "client-7f3a" not in exported and "item 9" not in exported


@pytest.mark.parametrize("traceparent", ["00-not-a-trace-01", 42, None, "00-" + "0" * 32 + "-" + "1" * 16 + "-01"])
def test_an_event_with_a_malformed_traceparent_is_handled_in_a_new_trace(spans, harness, traceparent):
    settings = harness.settings("backbone")
    database = Database(settings.mongo_url, settings.database)
    harness.start(Worker(settings=settings, database=database, subscriptions=[
        Subscription("recorder", ["goal.#"], lambda event: database["effects"].insert_one({"_id": event["id"]}))]))
    event = {**new_event("goal.achieved", tenant="clinic-a", subject="g-1", data={"goal_id": "g-1", "client_id": "c-1"}),
             "traceparent": traceparent}
    _publish(harness, event)

    wait_for(lambda: was_handled(database, "recorder", event["id"]), timeout=PATIENCE_SECONDS, what="the event handled")
    assert database["effects"].count_documents({"_id": event["id"]}) == 1
    [span] = wait_for(lambda: _process_spans(spans, event["id"]), timeout=PATIENCE_SECONDS, what="its span")
    assert span.parent is None and span.context.is_valid
    assert harness.message_count(amqp.dead_letter_queue(queue_name(settings.queue_prefix, "recorder"))) == 0


def _exported(receiver) -> list[tuple[str, str, str]]:
    """``(service.name, span name, trace id)`` of every span the collector received."""
    found = []
    for _, body in list(receiver.requests):
        for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
            service = next(a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name")
            found += [(service, s.name, s.trace_id.hex()) for scope in resource_spans.scope_spans for s in scope.spans]
    return found


def test_the_api_and_worker_processes_export_their_spans_to_the_otlp_collector(harness, receiver, auth):
    """The settings as ops give them, to gunicorn and the worker: spans reach the collector."""
    port = free_port()
    otel = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100"}
    env = {**os.environ, **harness.env("questionnaires"), **otel, "PYTHONPATH": str(ROOT),
           "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1"}
    harness.bind_queue(["questionnaire.*", "risk.*"])
    processes = [
        subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "services/questionnaires/gunicorn.conf.py",
                          "services.questionnaires.app:create_app()"], cwd=ROOT, env=env),
        subprocess.Popen([sys.executable, "-m", "services.questionnaires.worker"], cwd=ROOT, env=env),
    ]
    try:
        traceparent, trace_id, _ = new_traceparent()
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: answers(f"{base}/healthz"), timeout=30, what="gunicorn to serve")
        answer = requests.post(f"{base}/v1/responses", timeout=10, json={
            "client_id": "client-1", "instrument": "phq9", "answers": FIRST_PHQ9,
            "completed_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        }, headers={**auth("client", "client-1"), "traceparent": traceparent})
        assert answer.status_code == 201
        wanted = {("stepwise-questionnaires", "POST /v1/responses", trace_id),
                  ("stepwise-questionnaires-worker", "publish questionnaire.scored", trace_id),
                  ("stepwise-questionnaires-worker", "publish risk.flagged", trace_id)}
        wait_for(lambda: wanted <= set(_exported(receiver)), timeout=PATIENCE_SECONDS, what="the spans at the collector")
    finally:
        stop(processes)


