"""Distributed tracing (OpenTelemetry, W3C Trace Context): one story, one trace, across services.

How the context travels:

- HTTP: an API continues the caller's ``traceparent``/``tracestate`` headers (or starts a trace)
  in one SERVER span per request (``traced_wsgi``), named by the route template.
- Events: ``new_event`` copies the current context into the CloudEvent's ``traceparent`` and
  ``tracestate`` attributes (the CloudEvents distributed-tracing extension). The event is stored
  with the change that raised it, so the context outlives the request: the relay publishes it
  later, in another process, in a PRODUCER span that is a child of the event's context and ends
  when the broker confirms.
- Consumers: each handled event is a CONSUMER span, a child of the event's context, current
  while the handler runs: events it raises, deliveries it stores and lines it logs carry it.
- Deliveries (email, webhook) store the context of what created them (``carrier()``); each
  attempt is a span in that trace, and a webhook POST sends its ``traceparent``.

Off unless ``OTEL_TRACES_EXPORTER`` names an exporter (``shared.config``): then no span is made,
events and webhooks carry no context, and each helper returns at its first line. The exporters'
own settings (endpoint, headers, sampler, batching, ``OTEL_SERVICE_NAME``) are the SDK's standard
``OTEL_*`` variables.

No instrumentation package is used, on purpose: the Flask and requests instrumentations record
the full URL (``http.target``, ``http.url``), whose paths and queries hold client ids (and a
subscriber's URL may hold its token), which must not leave the process; pika's follows the
transport (AMQP headers of a blocking channel), while a Stepwise event is published from the
outbox by the relay's asynchronous connection long after the request, so its context has to come
from the stored event; pymongo's would make a root trace of every idle poll of the relay and the
timetables. Spans here carry ids of events and deliveries, routes, statuses and error types, never
bodies, paths or exception messages.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The W3C Trace Context fields: HTTP headers, CloudEvent attributes, fields of a stored delivery.
FIELDS = ("traceparent", "tracestate")

_PROPAGATOR = TraceContextTextMapPropagator()
_tracer: trace.Tracer | None = None  # None: tracing is off


def _otlp() -> SpanExporter:
    # Imported only when asked for: a service that does not export never loads protobuf.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


EXPORTERS: Mapping[str, Callable[[], SpanExporter]] = {"otlp": _otlp, "console": ConsoleSpanExporter}


def configure(service_name: str, exporters: Sequence[str]) -> TracerProvider | None:
    """Trace this process, exporting to ``exporters`` (names in ``EXPORTERS``); none: stay off.
    Returns the provider it installed, if any.

    Once per process: a process already tracing keeps its provider (tests build many apps in one).
    ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` override ``service_name``. The provider
    flushes its spans when the process exits.
    """
    if _tracer is not None or not exporters:
        return None
    resource = Resource.create({SERVICE_NAME: service_name}).merge(OTELResourceDetector().detect())
    provider = TracerProvider(resource=resource)
    for name in exporters:
        provider.add_span_processor(BatchSpanProcessor(EXPORTERS[name]()))
    use(provider)
    return provider


def use(provider: TracerProvider | None) -> None:
    """Trace with ``provider`` from now on (the tests give one with an in-memory exporter); None
    turns tracing off."""
    global _tracer
    _tracer = provider.get_tracer("stepwise") if provider is not None else None


def _context(carrier: Mapping[str, Any]) -> Context:
    """The trace context ``carrier`` holds, or an empty one: a missing or malformed
    ``traceparent`` starts a new trace, never fails the work that carries it."""
    fields = {name: value for name in FIELDS if isinstance(value := carrier.get(name), str)}
    return _PROPAGATOR.extract(fields, context=Context())


def carrier() -> dict[str, str]:
    """The current span's context as W3C fields (``{}`` when there is none), to store or send."""
    if _tracer is None:
        return {}
    fields: dict[str, str] = {}
    _PROPAGATOR.inject(fields)
    return fields


def _failed(span: Span, exc: BaseException) -> None:
    # The class only: an exception's message or traceback may quote the data being handled.
    span.set_attribute("error.type", exc.__class__.__name__)
    span.set_status(Status(StatusCode.ERROR))


@contextmanager
def span(
    name: str, *, parent: Mapping[str, Any] | None = None, kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[None]:
    """A span, current inside the block: a child of ``parent``'s context (an event, a stored
    delivery) when given, else of the current span. An exception leaving the block marks it failed."""
    tracer = _tracer
    if tracer is None:
        yield
        return
    context = _context(parent) if parent is not None else None
    with tracer.start_as_current_span(
        name, context=context, kind=kind, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield
        except BaseException as exc:
            _failed(current, exc)
            raise


def start_span(name: str, *, parent: Mapping[str, Any], kind: SpanKind, attributes: Mapping[str, Any]) -> Span | None:
    """A span that is not made current, ended later by ``end_span`` (a publish, at its confirm)."""
    if _tracer is None:
        return None
    return _tracer.start_span(name, context=_context(parent), kind=kind, attributes=attributes)


def end_span(span: Span | None, error_type: str | None = None) -> None:
    if span is None:
        return
    if error_type is not None:
        span.set_attribute("error.type", error_type)
        span.set_status(Status(StatusCode.ERROR))
    span.end()


def annotate(attributes: Mapping[str, Any]) -> None:
    """Add attributes to the current span (nothing when there is none)."""
    trace.get_current_span().set_attributes(attributes)


def fail_current(exc: BaseException) -> None:
    """Mark the current span failed by ``exc`` when the exception is handled inside it."""
    current = trace.get_current_span()
    if current.is_recording():
        _failed(current, exc)


def current_trace_id() -> str | None:
    """The current trace's id (32 hex digits), for log lines; None outside any trace."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def traced_wsgi(wsgi_app: WSGIApplication, untraced_paths: Iterable[str] = ()) -> WSGIApplication:
    """``wsgi_app`` with a SERVER span around each request, continuing the caller's trace.

    A WSGI middleware rather than a Flask hook, so that the span covers requests refused before
    any route runs (oversize, bad token). The span is named ``HTTP <method>`` until the app names
    it by its route (``name_request``). Probes and scrapes (``untraced_paths``) are not traced.
    """
    skipped = frozenset(untraced_paths)

    def traced(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        tracer = _tracer
        if tracer is None or environ.get("PATH_INFO") in skipped:
            return wsgi_app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "")
        headers = {name: environ.get(f"HTTP_{name.upper()}") for name in FIELDS}
        with tracer.start_as_current_span(
            f"HTTP {method}", context=_context(headers), kind=SpanKind.SERVER,
            attributes={"http.request.method": method}, record_exception=False, set_status_on_exception=False,
        ) as current:

            def start(
                status: str, response_headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
            ) -> Callable[[bytes], object]:
                code = int(status.split(" ", 1)[0])
                current.set_attribute("http.response.status_code", code)
                if code >= 500:
                    current.set_status(Status(StatusCode.ERROR))
                return start_response(status, response_headers, exc_info)

            try:
                return wsgi_app(environ, start)
            except BaseException as exc:
                _failed(current, exc)
                raise

    return traced


def name_request(method: str, route: str) -> None:
    """Name the current request's span by its route template (never its path: paths hold ids)."""
    current = trace.get_current_span()
    if current.is_recording():
        current.update_name(f"{method} {route}")
        current.set_attribute("http.route", route)
