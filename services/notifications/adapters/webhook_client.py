"""POSTing a signed event to a subscriber.

Redirects are not followed (a signed event goes to the URL the tenant registered, see
``domain.delivery.classify_http``), and the receiver's answer is not read beyond its status:
it is not ours to store. When tracing is on, the POST is a CLIENT span whose context goes in the
``traceparent`` (and ``tracestate``) header; the span names the receiver's host, never its URL's
path or query (which may hold the subscriber's own token).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

import requests
from opentelemetry.trace import SpanKind

from shared import tracing

USER_AGENT = "Stepwise-Webhooks/1"


@dataclass(frozen=True)
class PostResult:
    status: int | None
    error: str | None = None


class WebhookClient:
    def __init__(self, timeout: float):
        self.timeout = timeout

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResult:
        target = urlsplit(url)
        port = target.port or (443 if target.scheme == "https" else 80)
        attributes = {"http.request.method": "POST", "server.address": target.hostname or "", "server.port": port}
        with tracing.span("POST", kind=SpanKind.CLIENT, attributes=attributes):
            try:
                response = requests.post(
                    url,
                    data=body,
                    headers={"User-Agent": USER_AGENT, **headers, **tracing.carrier()},
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=True,
                )
            except requests.RequestException as exc:
                tracing.fail_current(exc)
                return PostResult(None, exc.__class__.__name__)
            response.close()
            tracing.annotate({"http.response.status_code": response.status_code})
            return PostResult(response.status_code)
