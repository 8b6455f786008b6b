"""Where a webhook may be sent: the rules for a subscription's URL and for every address its
host resolves to.

A tenant admin (or a platform's service token) names the URL, and the worker POSTs health data
to it from inside the clinic's network. So a URL must not be a way to reach what sits beside the
worker (cloud metadata at 169.254.169.254, the broker's management port on localhost, other
clinics' services on 10/8, ...) nor to send health data in clear. A URL is accepted when:

- its scheme is ``https`` (``http`` only for a host on the development allow-list,
  ``WEBHOOK_ALLOWED_HOSTS``);
- it names a host and carries no credentials (``user:pass@`` would be stored and shown back);
- every address the host resolves to is a global unicast address (``address_refusal``), checked
  at registration and again when each delivery connects (a name can be re-pointed after it was
  registered). A host on the allow-list skips this check: it is how the test suite reaches its
  receiver on 127.0.0.1, and it is for development only.

Numeric hosts are read the way the C resolver reads them (``2130706433``, ``0x7f.1``, ``127.1``
are all 127.0.0.1), and addresses that embed an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64)
are judged by that address too.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

HTTPS = "https"
HTTP = "http"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Shared address space for carrier-grade NAT (RFC 6598); not "private" to Python, not global either.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# The NAT64 well-known prefix (RFC 6052): its addresses reach the IPv4 address in their last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(ValueError):
    """A webhook URL or address we do not send to; the message says why (for a 422 on ``url``)."""


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: ``host`` is lowercased, without brackets."""

    scheme: str
    host: str
    port: int
    allow_listed: bool


def normalized_hosts(hosts: tuple[str, ...] | list[str]) -> frozenset[str]:
    return frozenset(host.strip().strip("[]").lower().rstrip(".") for host in hosts if host.strip())


def literal_address(host: str) -> IPAddress | None:
    """The address a host names by itself, in any form the resolver would read it; None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # inet_aton reads the forms getaddrinfo accepts: 2130706433, 0x7f.1, 0177.0.0.1, 127.1.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def parse_target(url: str, allowed_hosts: frozenset[str]) -> Target:
    """The target of ``url``, or ``TargetRefused`` saying what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("is not a valid URL (check the host and port)") from None
    scheme = parts.scheme.lower()
    if scheme not in (HTTP, HTTPS):
        raise TargetRefused("must be an https URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise TargetRefused("must not carry credentials (user:password@): authenticate with the signature")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetRefused("must name a host")
    allow_listed = host in allowed_hosts
    if scheme == HTTP and not allow_listed:
        raise TargetRefused("must be an https URL: deliveries carry health data")
    if not allow_listed:
        literal = literal_address(host)
        if literal is not None:
            reason = address_refusal(literal)
            if reason is not None:
                raise TargetRefused(f"names {reason}")
    return Target(scheme, host, port or (443 if scheme == HTTPS else 80), allow_listed)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why we do not send to ``address`` (e.g. "a loopback address"), or None when it is a
    global unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "a scoped IPv6 address"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = address_refusal(embedded)
            return None if reason is None else f"{reason} (inside an IPv6 address)"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (this includes cloud metadata services)"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a carrier-grade NAT address"
    if isinstance(address, ipaddress.IPv6Address) and address in ipaddress.ip_network("fc00::/7"):
        return "a unique-local address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "an address that is not global"
    return None


def check_addresses(target: Target, addresses: list[str]) -> None:
    """Refuse unless the host resolved and every address it resolved to may be sent to."""
    if target.allow_listed:
        return
    if not addresses:
        raise TargetRefused(f"its host {target.host} does not resolve")
    for text in addresses:
        reason = address_refusal(ipaddress.ip_address(text))
        if reason is not None:
            raise TargetRefused(f"resolves to {reason}")
