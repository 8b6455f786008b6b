"""Checking a bearer token and reading the Principal it stands for.

The token's ``alg`` header picks how it is checked, from what is configured:

- ``HS256`` with ``JWT_SECRET``: development, tests and the demo (``python -m shared.auth.devtoken``);
- ``RS256`` or ``ES256`` with the identity provider's public keys from ``JWT_JWKS_URL``, found
  by the token's ``kid`` (``shared.auth.jwks``). The key must be of the token's algorithm, so
  neither "none" nor an HMAC signed with a public key (algorithm confusion) gets through.

Whatever signed it, a token must carry ``sub`` (the user id), ``exp`` and ``iat`` as numbers,
must not live longer than ``JWT_MAX_LIFETIME_SECONDS`` (``exp - iat``), must not be issued or
become valid in the future (beyond ``LEEWAY_SECONDS`` of clock skew), and must name the
configured issuer (``iss``) and audience (``aud``) when ``JWT_ISSUER``/``JWT_AUDIENCE`` are set
(they are required with a JWKS URL). The tenant and the role come from the claims named by
``JWT_TENANT_CLAIM`` and ``JWT_ROLE_CLAIM`` (a dotted name reaches into an object, e.g.
``realm_access.roles``; a list of roles must hold exactly one Stepwise role), translated by
``JWT_ROLE_MAP`` when set (``clinician=therapist``: then only the mapped names count).

A refusal is an ``AuthError`` that says what is wrong and never repeats the token or its claims.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Mapping, TypeGuard

import jwt
from jwt import exceptions as jwt_errors

from shared.auth.jwks import JwksKeys
from shared.auth.principal import ROLES, AuthError, Principal
from shared.config import ConfigError, TokenSettings

SECRET_ALGORITHMS = ("HS256",)
PROVIDER_ALGORITHMS = ("RS256", "ES256")
# Clock skew allowed between the token's issuer and this service.
LEEWAY_SECONDS = 60
MAX_ID_LENGTH = 200

# PyJWT's refusals, most specific first (an InvalidSignatureError is also a DecodeError).
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt_errors.InvalidSignatureError, "its signature does not verify"),
    (jwt_errors.InvalidAlgorithmError, "its algorithm is not accepted"),
    (jwt_errors.InvalidIssuerError, "its issuer (iss) is not the one this service trusts"),
    (jwt_errors.InvalidAudienceError, "its audience (aud) does not include this service"),
    (jwt_errors.DecodeError, "it is malformed"),
)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_id(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and value.isprintable()


def claim(claims: Mapping[str, Any], name: str) -> Any:
    """The claim called ``name``, or else the one its dotted path leads to; None if neither."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


class TokenVerifier:
    def __init__(self, settings: TokenSettings, clock: Callable[[], float] = time.time):
        unknown = set(settings.role_map.values()) - set(ROLES)
        if unknown:
            raise ConfigError(f"JWT_ROLE_MAP is invalid: each pair must map to one of {', '.join(ROLES)}")
        self.settings = settings
        self.clock = clock
        self.keys = (
            JwksKeys(
                settings.jwks_url,
                cache_seconds=settings.jwks_cache_seconds,
                timeout_seconds=settings.jwks_timeout_seconds,
                min_refresh_seconds=settings.jwks_min_refresh_seconds,
            )
            if settings.jwks_url
            else None
        )
        self.algorithms = (SECRET_ALGORITHMS if settings.secret else ()) + (PROVIDER_ALGORITHMS if self.keys else ())

    def verify(self, token: str) -> Principal:
        """The caller the token stands for; AuthError when it is not acceptable, and
        ``jwks.KeysUnavailable`` when the provider's keys cannot be fetched to check it."""
        claims = self._verified_claims(token)
        self._check_times(claims)
        sub = claims["sub"]
        if not _is_id(sub):
            raise AuthError(f"the token's sub must be a printable string of 1 to {MAX_ID_LENGTH} characters")
        tenant = claim(claims, self.settings.tenant_claim)
        if not _is_id(tenant):
            raise AuthError(
                f"the token's {self.settings.tenant_claim} claim (the tenant) must be a printable string "
                f"of 1 to {MAX_ID_LENGTH} characters"
            )
        return Principal(sub=sub, tenant=tenant, role=self._role(claim(claims, self.settings.role_claim)))

    def _verified_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            if algorithm not in self.algorithms:
                raise AuthError(f"its algorithm is not accepted (accepted: {', '.join(self.algorithms)})")
            # A secret algorithm is accepted only when a secret is set (self.algorithms).
            key: str | jwt.PyJWK
            if algorithm in SECRET_ALGORITHMS and self.settings.secret:
                key = self.settings.secret
            else:
                key = self._provider_key(header)
            required = ["exp", "iat", "sub"]
            required += ["iss"] if self.settings.issuer else []
            required += ["aud"] if self.settings.audience else []
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self.settings.issuer,
                audience=self.settings.audience,
                # Times are checked by _check_times, which also wants them to be numbers.
                options={
                    "require": required,
                    "verify_aud": self.settings.audience is not None,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt_errors.MissingRequiredClaimError as exc:
            raise AuthError(f"the token has no {exc.claim} claim") from None
        except jwt_errors.PyJWTError as exc:
            reason = next((text for kind, text in _REASONS if isinstance(exc, kind)), "it is not valid")
            raise AuthError(f"the token is refused: {reason}") from None
        except AuthError as exc:
            raise AuthError(f"the token is refused: {exc}") from None
        except RecursionError:  # a header or payload nested thousands deep, before any signature check
            raise AuthError("the token is refused: it is malformed") from None

    def _provider_key(self, header: Mapping[str, Any]) -> jwt.PyJWK:
        kid = header.get("kid")
        if not _is_id(kid):
            raise AuthError("it names no key id (kid)")
        if self.keys is None:  # a provider algorithm is accepted only with a JWKS URL (self.algorithms)
            raise AuthError("no identity provider is configured")
        key = self.keys.key(kid)
        if key is None:
            raise AuthError("its key id (kid) is not one of the identity provider's keys")
        if key.algorithm_name != header["alg"]:
            raise AuthError("its algorithm is not the one of its key")
        return key

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        for name in ("exp", "iat", "nbf"):
            if name in claims and not _is_number(claims[name]):
                raise AuthError(f"the token's {name} must be a number of seconds since 1970")
        now = self.clock()
        if claims["exp"] + LEEWAY_SECONDS <= now:
            raise AuthError("the token has expired")
        if claims["iat"] - LEEWAY_SECONDS > now:
            raise AuthError("the token is issued in the future (iat)")
        if claims.get("nbf", now) - LEEWAY_SECONDS > now:
            raise AuthError("the token is not valid yet (nbf)")
        if claims["exp"] - claims["iat"] > self.settings.max_lifetime_seconds:
            raise AuthError(
                f"the token lives longer than {self.settings.max_lifetime_seconds:g} seconds (exp - iat), "
                "the most this service accepts"
            )

    def _role(self, value: Any) -> str:
        names = [name for name in (value if isinstance(value, list) else [value]) if isinstance(name, str)]
        mapping = self.settings.role_map
        roles = {mapping[name] for name in names if name in mapping} if mapping else set(names) & set(ROLES)
        if len(roles) != 1:
            allowed = ", ".join(sorted(mapping) if mapping else ROLES)
            raise AuthError(
                f"the token's {self.settings.role_claim} claim must name exactly one role of: {allowed}"
            )
        return roles.pop()
