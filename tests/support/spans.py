"""Tracing on for one test, into the OpenTelemetry SDK's in-memory exporter."""
from __future__ import annotations

import secrets
from typing import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import tracing


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span ended in this process during the test (``spans.get_finished_spans()``)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    yield exporter
    tracing.use(None)
    provider.shutdown()


def new_traceparent() -> tuple[str, str, str]:
    """A caller's ``traceparent`` (sampled), with its trace id and span id in hex."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def hex_id(number: int, digits: int) -> str:
    """A trace id (32 digits) or span id (16) as it is written in ``traceparent``."""
    return format(number, f"0{digits}x")
