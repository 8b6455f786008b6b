"""POSTing a signed event to a subscriber, only ever to an address the rules allow.

``Targets`` applies ``domain.targets`` with a resolver: at registration (the API) and when each
delivery connects (the worker). The worker's connection is pinned: the host is resolved once,
every address it resolves to is checked, and the socket connects to a checked address, while TLS
still verifies the certificate against the host name. So a name re-pointed at a private address
after registration (DNS rebinding) is refused at the moment of sending, not merely at a look
beforehand.

Redirects are not followed (a signed event goes to the URL the tenant registered, see
``domain.delivery.classify_http``), proxies from the environment are not used (a proxy would
resolve the name itself, past the check), and the receiver's answer is not read beyond its
status: it is not ours to store. When tracing is on, the POST is a CLIENT span whose context goes
in the ``traceparent`` (and ``tracestate``) header; the span names the receiver's host, never its
URL's path or query (which may hold the subscriber's own token).
"""
from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

import requests
from opentelemetry.trace import SpanKind
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from services.notifications.domain.delivery import TARGET_REFUSED
from services.notifications.domain.targets import Target, TargetRefused, check_addresses, normalized_hosts, parse_target
from shared import tracing

USER_AGENT = "Stepwise-Webhooks/1"

# (host, port) -> the addresses it resolves to, as text.
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """The machine's resolver (getaddrinfo); no addresses when the name does not resolve."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class Targets:
    """The webhook target rules with a resolver and the development allow-list."""

    def __init__(self, allowed_hosts: tuple[str, ...] = (), resolver: Resolver = system_resolver):
        self.allowed_hosts = normalized_hosts(allowed_hosts)
        self.resolver = resolver

    def check(self, url: str) -> Target:
        """The target of ``url`` when it and every address its host resolves to may be sent
        to; ``TargetRefused`` otherwise."""
        target = parse_target(url, self.allowed_hosts)
        if not target.allow_listed:
            check_addresses(target, self.resolver(target.host, target.port))
        return target

    def addresses(self, host: str, port: int) -> list[str] | None:
        """The checked addresses to connect to for ``host``; None for an allow-listed host,
        which is connected to as the resolver finds it."""
        target = parse_target(f"https://{_bracketed(host)}:{port}/", self.allowed_hosts)
        if target.allow_listed:
            return None
        addresses = self.resolver(target.host, port)
        if not addresses:  # perhaps for a moment: a failed lookup is retried, as a refused connection is
            raise socket.gaierror(socket.EAI_NONAME, f"{target.host} does not resolve")
        check_addresses(target, addresses)
        return addresses


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _pinned(connection_class: type[HTTPConnection], targets: Targets) -> type[HTTPConnection]:
    """``connection_class`` connecting only to addresses ``targets`` checked for its host, each
    in turn until one answers (as the resolver's own order would be tried)."""

    def _new_conn(self):
        addresses = targets.addresses(self.host, self.port)
        if addresses is None:
            return connection_class._new_conn(self)
        for n, address in enumerate(addresses):
            self._dns_host = address  # where the socket connects; TLS still checks self.host
            try:
                return connection_class._new_conn(self)
            except NewConnectionError:
                if n == len(addresses) - 1:
                    raise

    return type(f"Pinned{connection_class.__name__}", (connection_class,), {"_new_conn": _new_conn})


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, targets: Targets):
        self.targets = targets
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PinnedHTTPPool", (HTTPConnectionPool,),
                         {"ConnectionCls": _pinned(HTTPConnection, self.targets)}),
            "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,),
                          {"ConnectionCls": _pinned(HTTPSConnection, self.targets)}),
        }


@dataclass(frozen=True)
class PostResult:
    status: int | None
    error: str | None = None


class WebhookClient:
    def __init__(self, timeout: float, targets: Targets | None = None):
        self.timeout = timeout
        self.targets = targets or Targets()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResult:
        try:
            parse_target(url, self.targets.allowed_hosts)  # scheme and credentials; the connection checks addresses
        except TargetRefused:
            return PostResult(None, TARGET_REFUSED)
        target = urlsplit(url)
        port = target.port or (443 if target.scheme == "https" else 80)
        attributes = {"http.request.method": "POST", "server.address": target.hostname or "", "server.port": port}
        with tracing.span("POST", kind=SpanKind.CLIENT, attributes=attributes), requests.Session() as session:
            session.trust_env = False  # no proxies or .netrc from the environment
            adapter = _PinnedAdapter(self.targets)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            try:
                response = session.post(
                    url,
                    data=body,
                    headers={"User-Agent": USER_AGENT, **headers, **tracing.carrier()},
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=True,
                )
            except TargetRefused:
                return PostResult(None, TARGET_REFUSED)
            except requests.RequestException as exc:
                tracing.fail_current(exc)
                return PostResult(None, exc.__class__.__name__)
            response.close()
            tracing.annotate({"http.response.status_code": response.status_code})
            return PostResult(response.status_code)
