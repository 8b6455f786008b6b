"""One way for tests to call a service's API as one caller or another.

A ``Caller`` sends a request with the bearer token of ``who`` (role, subject, tenant; ``None``
for no token), a JSON body when given one, and any other headers. It goes over real HTTP to a
served app (``Caller.over_http``: the integration tier) or through Flask's test client
(``Caller.in_process``: the service tier, where what is under test is the app and the database,
not the socket). The answer is that transport's own response: ``requests.Response`` (``.json()``)
or Flask's ``TestResponse`` (``.json``); ``created`` reads either.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Self

import requests

THERAPIST = ("therapist", "therapist-1", "clinic-a")
CLIENT = ("client", "client-1", "clinic-a")

Who = tuple[str, str, str] | None
# ``who`` not given: the caller's own.
ITSELF = object()


class _OverHttp:
    def __init__(self, base: str, timeout: float):
        self.base = base
        self.timeout = timeout

    def send(self, method: str, path: str, headers: dict, data=None, **kwargs) -> requests.Response:
        return requests.request(method, self.base + path, headers=headers, data=data, timeout=self.timeout, **kwargs)

    @staticmethod
    def body(response: requests.Response) -> Any:
        return response.json()


class _InProcess:
    def __init__(self, app):
        self.app = app

    def send(self, method: str, path: str, headers: dict, data=None, params=None, **kwargs):
        # A test client per call: one keeps cookies between calls, which threads calling at once
        # would share. ``params``: the query, as requests names it, so tests read alike in both tiers.
        client = self.app.test_client()
        return client.open(path, method=method, headers=headers, data=data, query_string=params, **kwargs)

    @staticmethod
    def body(response) -> Any:
        return response.json


class Caller:
    def __init__(self, transport: _OverHttp | _InProcess, auth: Callable[..., dict], who: Who = THERAPIST):
        self.transport = transport
        self.auth = auth
        self.who = who

    @classmethod
    def over_http(cls, base: str, auth, who: Who = THERAPIST, timeout: float = 30) -> Self:
        return cls(_OverHttp(base, timeout), auth, who)

    @classmethod
    def in_process(cls, app, auth, who: Who = THERAPIST) -> Self:
        return cls(_InProcess(app), auth, who)

    def call(self, method: str, path: str, body: Any = None, *, who: Who | object = ITSELF,
             headers: dict | None = None, **kwargs):
        """``body`` is sent as JSON unless it is already bytes or text (then as it is, with the
        JSON content type unless ``headers`` say otherwise)."""
        caller = self.who if who is ITSELF else who
        sent = dict(self.auth(*caller) if isinstance(caller, tuple) else {})
        sent.update(headers or {})
        if body is not None:
            kwargs["data"] = body if isinstance(body, (bytes, str)) else json.dumps(body)
            sent.setdefault("Content-Type", "application/json")
        return self.transport.send(method, path, sent, **kwargs)

    def created(self, path: str, body: Any, **kwargs) -> dict:
        """POST ``body``, insist on 201 and return what was created."""
        response = self.post(path, body, **kwargs)
        assert response.status_code == 201, response.text
        return self.transport.body(response)

    def get(self, path: str, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs):
        return self.call("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs):
        return self.call("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs):
        return self.call("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.call("DELETE", path, **kwargs)
