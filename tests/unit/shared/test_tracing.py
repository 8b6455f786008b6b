"""Tracing's pieces on their own: settings, off by default, the envelope's trace context, the
HTTP server span, the webhook's header, what a span may hold, and export to an OTLP collector
(a real HTTP server on loopback)."""
from __future__ import annotations

import json

import pytest
from flask import Flask
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.notifications.adapters.webhook_client import Targets, WebhookClient
from shared import tracing
from shared.config import ConfigError, load_settings
from shared.events.envelope import new_event, parse_event
from tests.support.peers import free_port
from tests.support.spans import hex_id, new_traceparent

# The receivers are on loopback, which webhooks reach only through the development allow-list.
LOOPBACK = Targets(allowed_hosts=("127.0.0.1",))

BASE = {"JWT_SECRET": "x" * 32}


def goal_achieved() -> dict:
    return new_event("goal.achieved", tenant="t", subject="g", data={"goal_id": "g", "client_id": "c"})


@pytest.mark.parametrize("environ, exporters", [
    ({}, ()),
    ({"OTEL_TRACES_EXPORTER": "none"}, ()),
    ({"OTEL_TRACES_EXPORTER": "otlp"}, ("otlp",)),
    ({"OTEL_TRACES_EXPORTER": "otlp, console"}, ("otlp", "console")),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, ("otlp",)),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, ()),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "false"}, ("otlp",)),
])
def test_tracing_is_off_unless_an_exporter_is_named(environ, exporters):
    assert load_settings("goals", {**BASE, **environ}).traces_exporters == exporters


@pytest.mark.parametrize("environ, variable", [
    ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
    ({"OTEL_TRACES_EXPORTER": ","}, "OTEL_TRACES_EXPORTER"),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
      "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
])
def test_a_bad_tracing_setting_stops_start_up_naming_it(environ, variable):
    with pytest.raises(ConfigError, match=f"^{variable} is invalid"):
        load_settings("goals", {**BASE, **environ})


def test_off_no_span_is_made_and_events_carry_no_trace_context():
    with tracing.span("work"):
        event = goal_achieved()
        assert tracing.current_trace_id() is None
    assert not {"traceparent", "tracestate"} & set(event)
    assert tracing.configure("stepwise-goals", ()) is None


def test_an_event_carries_the_context_it_was_raised_in(spans):
    traceparent, trace_id, _caller = new_traceparent()
    with tracing.span("request", parent={"traceparent": traceparent, "tracestate": "clinic=a"}):
        event = goal_achieved()
        assert tracing.current_trace_id() == trace_id
    [request] = spans.get_finished_spans()
    assert event["traceparent"] == f"00-{trace_id}-{hex_id(request.context.span_id, 16)}-01"
    assert event["tracestate"] == "clinic=a"
    assert parse_event(json.dumps(event)) == event


def test_configure_exports_batches_with_the_service_name_unless_otel_names_another(monkeypatch):
    exporter = InMemorySpanExporter()
    monkeypatch.setitem(tracing.EXPORTERS, "memory", lambda: exporter)
    provider = tracing.configure("stepwise-goals", ("memory",))
    try:
        assert tracing.configure("stepwise-other", ("memory",)) is None, "the first configuration stays"
        with tracing.span("work"):
            pass
    finally:
        tracing.use(None)
        provider.shutdown()  # flushes the batch
    [span] = exporter.get_finished_spans()
    assert (span.name, span.resource.attributes["service.name"]) == ("work", "stepwise-goals")

    monkeypatch.setenv("OTEL_SERVICE_NAME", "clinic-goals")
    provider = tracing.configure("stepwise-goals", ("memory",))
    tracing.use(None)
    provider.shutdown()
    assert provider.resource.attributes["service.name"] == "clinic-goals"


def make_app() -> Flask:
    app = Flask("traced")

    @app.post("/v1/clients/<client_id>/notes")
    def note(client_id):
        return {"ok": True}, 201

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.after_request
    def name(response):
        tracing.name_request("POST", "/v1/clients/<client_id>/notes")
        return response

    app.wsgi_app = tracing.traced_wsgi(  # type: ignore[method-assign, assignment]  # as shared.app does
        app.wsgi_app, untraced_paths=["/healthz"]
    )
    return app


def test_a_request_continues_the_callers_trace_named_by_its_route_never_its_path(spans):
    traceparent, trace_id, caller = new_traceparent()
    client = make_app().test_client()
    assert client.post("/v1/clients/client-7f3a/notes?client_id=client-7f3a", headers={"traceparent": traceparent}).status_code == 201
    assert client.get("/healthz").status_code == 200
    [span] = spans.get_finished_spans()
    assert span.kind == SpanKind.SERVER
    assert (hex_id(span.context.trace_id, 32), hex_id(span.parent.span_id, 16)) == (trace_id, caller)
    assert span.name == "POST /v1/clients/<client_id>/notes"
    assert span.attributes["http.response.status_code"] == 201
    assert "client-7f3a" not in span.to_json()


@pytest.mark.parametrize("traceparent", ["garbage", "00-" + "a" * 32 + "-" + "b" * 16 + "-01-extra", "ff-" + "a" * 32 + "-" + "b" * 16 + "-01"])
def test_a_malformed_traceparent_header_starts_a_new_trace(spans, traceparent):
    assert make_app().test_client().post("/v1/clients/c/notes", headers={"traceparent": traceparent}).status_code == 201
    [span] = spans.get_finished_spans()
    assert span.parent is None and span.context.is_valid


def test_a_webhook_post_sends_its_span_as_traceparent_naming_the_host_only(spans, receiver):
    client = WebhookClient(timeout=5, targets=LOOPBACK)
    with tracing.span("deliver webhook"):
        assert client.post(f"{receiver.url}?token=subscriber-secret", b"{}", {}).status == 204
    [(headers, _)] = receiver.requests
    [post] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert headers["traceparent"].split("-")[:3] == ["00", hex_id(post.context.trace_id, 32), hex_id(post.context.span_id, 16)]
    assert post.attributes["server.address"] == "127.0.0.1"
    assert post.attributes["http.response.status_code"] == 204
    assert "subscriber-secret" not in post.to_json() and "/hooks" not in post.to_json()


def test_off_a_webhook_post_carries_no_traceparent(receiver):
    assert WebhookClient(timeout=5, targets=LOOPBACK).post(receiver.url, b"{}", {}).status == 204
    [(headers, _)] = receiver.requests
    assert "traceparent" not in {name.lower() for name in headers}


def test_an_unreachable_webhook_marks_its_span_failed_by_the_errors_class(spans):
    nobody_listens = f"http://127.0.0.1:{free_port()}/hooks"
    assert WebhookClient(timeout=2, targets=LOOPBACK).post(nobody_listens, b"{}", {}).error == "ConnectionError"
    [post] = spans.get_finished_spans()
    assert post.attributes["error.type"] == "ConnectionError"


def test_otlp_sends_the_spans_over_http_to_the_collector_the_otel_variables_name(monkeypatch, receiver):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=k-1")
    provider = tracing.configure("stepwise-notifications-worker", ("otlp",))
    try:
        with tracing.span("deliver webhook"):
            pass
    finally:
        tracing.use(None)
        provider.shutdown()  # flushes the batch to the collector
    [(headers, body)] = receiver.requests
    headers = {name.lower(): value for name, value in headers.items()}
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-collector-key"] == "k-1"
    [resource_spans] = ExportTraceServiceRequest.FromString(body).resource_spans
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == "stepwise-notifications-worker"
    assert [s.name for scope in resource_spans.scope_spans for s in scope.spans] == ["deliver webhook"]
