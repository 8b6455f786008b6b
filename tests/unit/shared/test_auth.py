"""Token checks that need no identity provider: HS256 tokens, their claims, times and mapping.
(RS256/ES256 against a real JWKS endpoint: tests/integration/test_identity_provider.py.)"""
import base64
import hashlib
import hmac

import jwt
import pytest

from shared.auth import AuthError, TokenVerifier
from shared.auth.devtoken import mint
from shared.config import ConfigError, TokenSettings

SECRET = "k" * 40
NOW = 1_900_000_000


def verifier(**settings) -> TokenVerifier:
    return TokenVerifier(TokenSettings(secret=SECRET, **settings), clock=lambda: NOW)


def signed(claims: dict, secret: str = SECRET, **headers) -> str:
    base = {"sub": "t-1", "tenant": "clinic-a", "role": "therapist", "iat": NOW, "exp": NOW + 600}
    return jwt.encode({name: value for name, value in {**base, **claims}.items() if value is not None}, secret,
                      algorithm="HS256", headers=headers or None)


def refusal(token: str, **settings) -> str:
    with pytest.raises(AuthError) as caught:
        verifier(**settings).verify(token)
    message = str(caught.value)
    assert token not in message and token.split(".")[1] not in message
    return message


def test_a_minted_token_decodes_to_its_principal_and_scope():
    principal = verifier().verify(mint(SECRET, sub="c-1", tenant="clinic-a", role="client", now=NOW))
    assert (principal.sub, principal.tenant, principal.role) == ("c-1", "clinic-a", "client")
    assert principal.scope.restrict({"x": 1}) == {"x": 1, "tenant": "clinic-a", "client_id": "c-1"}


def test_staff_scope_is_the_whole_tenant():
    principal = verifier().verify(mint(SECRET, sub="t-1", tenant="clinic-a", role="therapist", now=NOW))
    assert principal.scope.restrict({}) == {"tenant": "clinic-a"}


def test_an_expired_token_is_refused():
    assert "expired" in refusal(mint(SECRET, sub="c-1", tenant="clinic-a", role="client", ttl_seconds=10, now=NOW - 100))


def test_a_token_signed_with_another_secret_is_refused():
    assert "signature" in refusal(mint("z" * 40, sub="c-1", tenant="clinic-a", role="client", now=NOW))


@pytest.mark.parametrize(
    "claims, problem",
    [
        ({"tenant": None}, "tenant"),
        ({"tenant": "clinic\x00a"}, "tenant"),
        ({"role": "root"}, "role"),
        ({"role": ["therapist", "admin"]}, "exactly one role"),
        ({"sub": ""}, "sub"),
        ({"sub": "x" * 201}, "sub"),
        ({"sub": None}, "no sub claim"),
        ({"exp": None}, "no exp claim"),
        ({"iat": None}, "no iat claim"),
        ({"exp": str(NOW + 600)}, "exp must be a number"),
        ({"iat": True}, "iat must be a number"),
        ({"exp": 32503680000}, "lives longer than 86400"),  # the year 3000
        ({"exp": 1e300}, "lives longer"),
        ({"iat": NOW + 3600, "exp": NOW + 4000}, "issued in the future"),
        ({"nbf": NOW + 3600}, "not valid yet"),
    ],
)
def test_bad_claims_are_refused_saying_which(claims, problem):
    assert problem in refusal(signed(claims))


def test_clock_skew_of_a_minute_is_forgiven():
    assert verifier().verify(signed({"iat": NOW + 50, "exp": NOW + 650})).sub == "t-1"
    assert verifier().verify(signed({"iat": NOW - 650, "exp": NOW - 50})).sub == "t-1"


def test_the_longest_lifetime_is_a_setting():
    token = signed({"exp": NOW + 7200})
    assert verifier().verify(token).sub == "t-1"
    assert "lives longer than 3600" in refusal(token, max_lifetime_seconds=3600)


def test_a_number_too_long_for_python_is_a_refusal_not_a_crash():
    payload = b'{"sub": "t-1", "tenant": "a", "role": "admin", "iat": 1, "exp": ' + b"9" * 5000 + b"}"
    assert "malformed" in refusal(_forged(b'{"alg": "HS256"}', payload))


def test_a_header_nested_thousands_deep_is_a_refusal_not_a_crash():
    assert "malformed" in refusal(_forged(b"[" * 5000 + b"]" * 5000, b"{}"))


def test_the_none_algorithm_is_refused():
    token = jwt.encode({"sub": "u", "tenant": "a", "role": "admin", "iat": NOW, "exp": NOW + 60}, None, algorithm="none")
    assert "algorithm is not accepted" in refusal(token)


def test_issuer_and_audience_are_checked_for_hs256_when_set():
    expected = {"issuer": "https://portal.clinic.example", "audience": "stepwise"}
    good = signed({"iss": "https://portal.clinic.example", "aud": ["stepwise", "portal"]})
    assert verifier(**expected).verify(good).sub == "t-1"
    assert "no iss claim" in refusal(signed({"aud": "stepwise"}), **expected)
    assert "issuer" in refusal(signed({"iss": "https://evil.example", "aud": "stepwise"}), **expected)
    assert "audience" in refusal(signed({"iss": "https://portal.clinic.example", "aud": "other"}), **expected)


def test_without_a_configured_audience_a_token_with_one_is_accepted():
    assert verifier().verify(signed({"aud": "anything"})).sub == "t-1"


def test_tenant_and_role_come_from_the_configured_claims_through_the_role_map():
    mapped = {"tenant_claim": "https://stepwise.dev/clinic", "role_claim": "realm_access.roles",
              "role_map": {"clinician": "therapist", "patient": "client"}}
    token = signed({"tenant": None, "role": None, "https://stepwise.dev/clinic": "clinic-b",
                    "realm_access": {"roles": ["offline_access", "clinician"]}})
    principal = verifier(**mapped).verify(token)
    assert (principal.tenant, principal.role) == ("clinic-b", "therapist")
    # With a map, only mapped names count: an unmapped "admin" is not taken at its word.
    unmapped = signed({"https://stepwise.dev/clinic": "clinic-b", "realm_access": {"roles": ["admin"]}})
    assert "realm_access.roles claim must name exactly one role of: clinician, patient" in refusal(unmapped, **mapped)


def test_a_role_map_to_an_unknown_role_stops_start_up():
    with pytest.raises(ConfigError, match="JWT_ROLE_MAP"):
        TokenVerifier(TokenSettings(secret=SECRET, role_map={"clinician": "doctor"}))


def test_devtoken_adds_the_configured_issuer_and_audience(monkeypatch, capsys):
    from shared.auth.devtoken import main

    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("JWT_ISSUER", "https://portal.clinic.example")
    monkeypatch.setenv("JWT_AUDIENCE", "stepwise")
    assert main(["--sub", "t-9", "--tenant", "clinic-a", "--role", "admin"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), SECRET, algorithms=["HS256"], audience="stepwise")
    assert (claims["iss"], claims["aud"], claims["role"]) == ("https://portal.clinic.example", "stepwise", "admin")


def _forged(header: bytes, payload: bytes) -> str:
    """A token from raw JSON text, signed with SECRET: what PyJWT would never encode."""

    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{part(header)}.{part(payload)}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"

