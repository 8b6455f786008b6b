"""Where a webhook may be sent (domain.targets): every address form issue 10 reproduced is
refused, numeric and IPv6 forms included; global addresses pass; the allow-list is the only way
to http or to a local host."""
import ipaddress

import pytest

from services.notifications.domain.targets import (
    Target,
    TargetRefused,
    address_refusal,
    check_addresses,
    literal_address,
    normalized_hosts,
    parse_target,
)

NOTHING_ALLOWED: frozenset[str] = frozenset()


@pytest.mark.parametrize("url", [
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/hook",
    "https://10.255.255.255/hook",
    "https://172.16.0.1/hook",
    "https://172.31.255.254/hook",
    "https://192.168.1.10/hook",
    "https://100.64.0.1/hook",
    "https://100.100.100.200/latest/meta-data/",   # Alibaba's metadata, in CGNAT space
    "https://[fd00::1]/hook",
    "https://[fd00:ec2::254]/latest/meta-data/",   # AWS's IPv6 metadata, unique-local
    "https://[fe80::1]/hook",
    "https://[::1]:15672/",
    "https://[::]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:169.254.169.254]/hook",
    "https://[64:ff9b::a00:1]/hook",               # NAT64 of 10.0.0.1
    "https://[2002:a00:1::]/hook",                 # 6to4 of 10.0.0.1
    "https://[ff02::1]/hook",
    "https://127.0.0.1:15672/",
    "https://0.0.0.0/hook",
    "https://2130706433/hook",                     # 127.0.0.1 as one number
    "https://0x7f000001/hook",
    "https://0177.0.0.1/hook",
    "https://127.1/hook",
    "https://224.0.0.1/hook",
    "https://255.255.255.255/hook",
    "https://240.0.0.1/hook",
])
def test_a_literal_address_that_is_not_global_is_refused(url):
    with pytest.raises(TargetRefused, match=r"^names "):
        parse_target(url, NOTHING_ALLOWED)


@pytest.mark.parametrize("url, says", [
    ("http://hooks.clinic.example/", "https"),
    ("http://169.254.169.254/latest/meta-data/", "https"),
    ("http://localhost:15672/", "https"),
    ("ftp://hooks.clinic.example/", "https"),
    ("https://user:pass@hooks.clinic.example/", "credentials"),
    ("https://token@hooks.clinic.example/", "credentials"),
    ("https://:pass@hooks.clinic.example/", "credentials"),
    ("https:///path-only", "host"),
    ("https://hooks.clinic.example:99999/", "valid URL"),
    ("https://[fd00::1/", "valid URL"),
])
def test_scheme_credentials_and_malformed_urls_are_refused(url, says):
    with pytest.raises(TargetRefused, match=says):
        parse_target(url, NOTHING_ALLOWED)


def test_a_global_https_target_is_taken_apart():
    assert parse_target("https://Hooks.Clinic.Example./stepwise?x=1", NOTHING_ALLOWED) == Target(
        "https", "hooks.clinic.example", 443, False)
    assert parse_target("https://[2606:4700::1111]:8443/", NOTHING_ALLOWED).port == 8443


def test_the_allow_list_admits_http_and_local_addresses_for_its_hosts_only():
    allowed = normalized_hosts(("127.0.0.1", " Receiver.Test ", "[::1]"))
    assert parse_target("http://127.0.0.1:8080/hook", allowed) == Target("http", "127.0.0.1", 8080, True)
    assert parse_target("http://receiver.test/hook", allowed).allow_listed
    assert parse_target("http://[::1]:9/hook", allowed).allow_listed
    # The same address written another way is not the allowed host.
    for other in ("http://2130706433/", "http://localhost/", "https://127.0.0.2/", "https://0x7f.1/"):
        with pytest.raises(TargetRefused):
            parse_target(other, allowed)
    # Credentials are refused even for an allowed host.
    with pytest.raises(TargetRefused, match="credentials"):
        parse_target("http://user:pw@127.0.0.1/", allowed)


@pytest.mark.parametrize("text, reason", [
    ("127.0.0.1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.20.0.1", "private"),
    ("192.168.0.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("fd12:3456::1", "unique-local"),
    ("fe80::1", "link-local"),
    ("ff05::2", "multicast"),
    ("239.255.255.250", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("::ffff:10.0.0.1", "private"),
    ("192.0.2.1", "private"),        # documentation (TEST-NET-1)
    ("198.18.0.1", "private"),       # benchmarking
    ("240.0.0.1", "reserved"),
])
def test_address_refusal_names_the_kind_of_address(text, reason):
    assert reason in address_refusal(ipaddress.ip_address(text))


@pytest.mark.parametrize("text", ["1.1.1.1", "8.8.4.4", "2606:4700:4700::1111", "2a00:1450:4009:81f::200e"])
def test_global_unicast_addresses_are_allowed(text):
    assert address_refusal(ipaddress.ip_address(text)) is None


def test_literal_addresses_are_read_as_the_resolver_reads_them():
    one = ipaddress.ip_address("127.0.0.1")
    assert {literal_address(h) for h in ("2130706433", "0x7f.1", "0177.0.0.1", "127.1", "127.0.0.1")} == {one}
    assert literal_address("hooks.clinic.example") is None
    assert literal_address("fd00::1") == ipaddress.ip_address("fd00::1")


def test_every_resolved_address_must_be_global():
    target = parse_target("https://hooks.clinic.example/", NOTHING_ALLOWED)
    check_addresses(target, ["1.1.1.1", "2606:4700:4700::1111"])
    with pytest.raises(TargetRefused, match="private"):
        check_addresses(target, ["1.1.1.1", "10.0.0.7"])
    with pytest.raises(TargetRefused, match="does not resolve"):
        check_addresses(target, [])
    allowed = parse_target("https://hooks.clinic.example/", normalized_hosts(["hooks.clinic.example"]))
    check_addresses(allowed, ["127.0.0.1"])
