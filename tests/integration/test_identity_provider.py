"""Tokens from a clinic's identity provider: RS256/ES256 checked against a real JWKS endpoint
on loopback (tests/support/identity_provider.py), over real HTTP to the goals API."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from services.goals import config
from services.goals.app import create_app
from shared.auth.devtoken import mint
from tests.conftest import JWT_SECRET
from tests.support.identity_provider import IdentityProvider

pytestmark = pytest.mark.integration


@pytest.fixture
def provider():
    idp = IdentityProvider()
    yield idp
    idp.close()


def serve(harness, provider: IdentityProvider | None = None, **environ: str) -> str:
    """The goals API trusting ``provider`` (and no development secret unless one is given)."""
    provider_settings = provider.settings() if provider else {}
    settings = harness.settings("goals", config.OPTIONS, **{"JWT_SECRET": "", **provider_settings, **environ})
    return harness.serve(create_app(settings=settings))


def goals(url: str, token: str, **params) -> requests.Response:
    return requests.get(f"{url}/v1/goals", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_a_providers_token_is_accepted_with_its_own_claim_names_and_roles(harness, provider):
    url = serve(harness, provider, JWT_TENANT_CLAIM="https://stepwise.dev/clinic", JWT_ROLE_CLAIM="realm_access.roles",
                JWT_ROLE_MAP="clinician=therapist,patient=client")

    def token(sub: str, role: str) -> str:
        return provider.token(sub=sub, tenant=None, role=None, **{
            "https://stepwise.dev/clinic": "clinic-a", "realm_access": {"roles": ["offline_access", role]},
        })

    assert goals(url, token("therapist-1", "clinician"), client_id="client-9").status_code == 200
    # A patient is a client: it may list its own goals, and naming another client is 403.
    assert goals(url, token("client-1", "patient"), client_id="client-1").status_code == 200
    assert goals(url, token("client-1", "patient"), client_id="client-9").status_code == 403
    refused = goals(url, token("therapist-1", "admin"))
    assert refused.status_code == 401
    assert "realm_access.roles" in refused.json()["detail"]


def test_a_rotated_key_is_used_without_a_restart_and_a_removed_one_is_refused(harness, provider):
    url = serve(harness, provider, JWT_JWKS_MIN_REFRESH_SECONDS="0")
    old_key = provider.keys[0]
    assert goals(url, provider.token()).status_code == 200
    new_key = provider.rotate("ES256")
    assert goals(url, provider.token(new_key)).status_code == 200
    refused = goals(url, provider.token(old_key))
    assert refused.status_code == 401
    assert "key id (kid)" in refused.json()["detail"]


def test_made_up_key_ids_do_not_make_the_service_hammer_the_provider(harness, provider):
    url = serve(harness, provider)  # JWT_JWKS_MIN_REFRESH_SECONDS: the default, 30
    assert goals(url, provider.token()).status_code == 200
    fetched = provider.fetches
    for _ in range(5):
        assert goals(url, provider.token(headers={"kid": uuid.uuid4().hex})).status_code == 401
    assert provider.fetches == fetched


def _now() -> int:
    return int(time.time())


def _hs256_signed_with_the_public_key(provider: IdentityProvider) -> str:
    """Algorithm confusion: an HMAC whose secret is the provider's public key, which anybody has."""
    public_pem = provider.keys[0].private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": provider.keys[0].kid}).encode())
    payload = part(json.dumps(provider.claims(role="admin")).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{part(signature)}"


REFUSALS = {
    "wrong issuer": (lambda idp: idp.token(iss="https://id.evil.example"), "issuer (iss)"),
    "wrong audience": (lambda idp: idp.token(aud="another-api"), "audience (aud)"),
    "no exp": (lambda idp: idp.token(exp=None), "no exp claim"),
    "no iat": (lambda idp: idp.token(iat=None), "no iat claim"),
    "exp as a string": (lambda idp: idp.token(exp=str(_now() + 300)), "exp must be a number"),
    "too long a lifetime": (lambda idp: idp.token(exp=_now() + 2 * 86400), "lives longer than 86400 seconds"),
    "expired": (lambda idp: idp.token(iat=_now() - 1000, exp=_now() - 500), "expired"),
    "issued in the future": (lambda idp: idp.token(iat=_now() + 3600, exp=_now() + 3900), "issued in the future"),
    "unknown kid": (lambda idp: idp.token(headers={"kid": "not-a-published-key"}), "key id (kid)"),
    # "none" signs with no key, which PyJWT allows and its annotations do not.
    "alg none": (lambda idp: jwt.encode(idp.claims(), None, algorithm="none", headers={"kid": idp.keys[0].kid}),  # type: ignore[arg-type]
                 "algorithm is not accepted"),
    "alg confusion": (_hs256_signed_with_the_public_key, "algorithm is not accepted"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_each_refusal_is_a_401_problem_that_says_why_without_echoing_the_token(harness, provider, case):
    url = serve(harness, provider, JWT_JWKS_MIN_REFRESH_SECONDS="0")
    build, reason = REFUSALS[case]
    token = build(provider)
    answer = goals(url, token)
    assert answer.status_code == 401, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert reason in answer.json()["detail"]
    for part in token.split("."):
        if part:
            assert part not in answer.text
    assert "evil.example" not in answer.text and "another-api" not in answer.text


def test_with_a_development_secret_too_an_hs256_token_signed_with_the_public_key_is_refused(harness, provider):
    url = serve(harness, provider, JWT_SECRET=JWT_SECRET)
    answer = goals(url, _hs256_signed_with_the_public_key(provider))
    assert answer.status_code == 401
    assert "signature does not verify" in answer.json()["detail"]


def test_a_provider_that_cannot_be_reached_is_a_503_not_a_500(harness, capfd):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    environ = {"JWT_JWKS_URL": f"http://127.0.0.1:{dead_port}/certs", "JWT_ISSUER": "https://id.example",
               "JWT_AUDIENCE": "stepwise-api", "JWT_JWKS_TIMEOUT_SECONDS": "2"}
    url = serve(harness, JWT_SECRET=JWT_SECRET, LOG_LEVEL="INFO", **environ)
    idp = IdentityProvider()  # a key the service could never fetch
    try:
        token = idp.token(iss="https://id.example")
    finally:
        idp.close()
    answer = goals(url, token)
    assert answer.status_code == 503
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert int(answer.headers["Retry-After"]) > 0
    assert "identity provider" in answer.json()["detail"]
    # Development tokens do not depend on the provider, and still work while it is down.
    development = mint(JWT_SECRET, sub="therapist-1", tenant="clinic-a", role="therapist",
                       issuer="https://id.example", audience="stepwise-api")
    assert goals(url, development).status_code == 200
    assert "Traceback" not in capfd.readouterr().err
