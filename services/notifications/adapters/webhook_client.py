"""POSTing a signed event to a subscriber.

Redirects are not followed (a signed event goes to the URL the tenant registered, see
``domain.delivery.classify_http``), and the receiver's answer is not read beyond its status:
it is not ours to store.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import requests

USER_AGENT = "Stepwise-Webhooks/1"


@dataclass(frozen=True)
class PostResult:
    status: int | None
    error: str | None = None


class WebhookClient:
    def __init__(self, timeout: float):
        self.timeout = timeout

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResult:
        try:
            response = requests.post(
                url,
                data=body,
                headers={"User-Agent": USER_AGENT, **headers},
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            return PostResult(None, exc.__class__.__name__)
        response.close()
        return PostResult(response.status_code)
