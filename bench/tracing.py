"""What tracing adds, off (the default) and on, to each place it is called from.

    python bench/tracing.py [--rounds 100000]

Each figure is tracing's own code alone, in this process, the best of seven runs (the machine is
shared: the least disturbed run is the closest to the code's own cost):

- the WSGI middleware around an app that answers at once (what each HTTP request pays), against
  the bare app;
- ``carrier()``, which ``new_event`` and each stored delivery call;
- ``span()`` entered and left, as each handled event, delivery attempt and webhook POST does.

On: the SDK with a processor that hands each span at once to an exporter that drops it, so the
cost is the spans' own, not a network's or a batch thread's.
"""
from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path
from typing import Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from shared import tracing

CALLER = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
ENVIRON = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/ping", "HTTP_TRACEPARENT": CALLER["traceparent"]}


class Dropped(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def bare_app(environ: dict, start_response: Callable) -> list[bytes]:
    start_response("200 OK", [])
    return [b"{}"]


def per_call_us(work: Callable[[], object], rounds: int) -> float:
    return min(timeit.repeat(work, number=rounds, repeat=7)) / rounds * 1e6


def measure(rounds: int) -> dict[str, float]:
    traced = tracing.traced_wsgi(bare_app)

    def ignore(status, headers, exc_info=None):  # a start_response that keeps nothing
        return None

    def in_span() -> None:
        with tracing.span("work", parent=CALLER):
            pass

    def carrier_in_span() -> None:
        with tracing.span("work", parent=CALLER):
            for _ in range(10):
                tracing.carrier()

    return {
        "bare WSGI app": per_call_us(lambda: bare_app(ENVIRON, ignore), rounds),
        "the app in the middleware": per_call_us(lambda: traced(ENVIRON, ignore), rounds),
        "span()": per_call_us(in_span, rounds),
        "span() + 10 carrier()": per_call_us(carrier_in_span, rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100_000)
    rounds = parser.parse_args().rounds
    tracing.use(None)
    off = measure(rounds)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Dropped()))
    tracing.use(provider)
    on = measure(rounds // 10)
    tracing.use(None)
    provider.shutdown()
    print(f"{'microseconds per call':28} {'off':>8} {'on':>8}")
    for name in off:
        print(f"{name:28} {off[name]:8.2f} {on[name]:8.2f}")


if __name__ == "__main__":
    main()
