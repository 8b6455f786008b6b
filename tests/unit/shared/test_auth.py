import jwt
import pytest

from shared.auth import AuthError, decode_token
from shared.auth.devtoken import mint

SECRET = "k" * 40


def test_a_minted_token_decodes_to_its_principal_and_scope():
    principal = decode_token(mint(SECRET, sub="c-1", tenant="clinic-a", role="client"), SECRET)
    assert (principal.sub, principal.tenant, principal.role) == ("c-1", "clinic-a", "client")
    assert principal.scope.restrict({"x": 1}) == {"x": 1, "tenant": "clinic-a", "client_id": "c-1"}


def test_staff_scope_is_the_whole_tenant():
    principal = decode_token(mint(SECRET, sub="t-1", tenant="clinic-a", role="therapist"), SECRET)
    assert principal.scope.restrict({}) == {"tenant": "clinic-a"}


def test_an_expired_token_is_refused():
    token = mint(SECRET, sub="c-1", tenant="clinic-a", role="client", ttl_seconds=10, now=1_000_000)
    with pytest.raises(AuthError, match="expired"):
        decode_token(token, SECRET)


def test_a_token_signed_with_another_secret_is_refused():
    with pytest.raises(AuthError, match="invalid"):
        decode_token(mint("z" * 40, sub="c-1", tenant="clinic-a", role="client"), SECRET)


@pytest.mark.parametrize(
    "claims, problem",
    [
        ({"sub": "u", "role": "client"}, "tenant"),
        ({"sub": "u", "tenant": "a", "role": "root"}, "role"),
        ({"sub": "", "tenant": "a", "role": "client"}, "sub"),
    ],
)
def test_bad_claims_are_refused(claims, problem):
    token = jwt.encode({**claims, "exp": 4_000_000_000}, SECRET, algorithm="HS256")
    with pytest.raises(AuthError, match=problem):
        decode_token(token, SECRET)


def test_the_none_algorithm_is_refused():
    token = jwt.encode({"sub": "u", "tenant": "a", "role": "admin", "exp": 4_000_000_000}, None, algorithm="none")
    with pytest.raises(AuthError):
        decode_token(token, SECRET)
