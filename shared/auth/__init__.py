"""Authentication and authorization per the contract: bearer tokens, roles, tenant and client scope.

A token (``shared.auth.tokens``: HS256 with ``JWT_SECRET``, or RS256/ES256 from the clinic's
identity provider) names a user (``sub``), a tenant (clinic) and a role. A ``client`` acts only
on records whose ``client_id`` is its own ``sub``; ``therapist``, ``admin`` and ``service`` act
on any client of their own tenant. Another tenant's record is answered 404, exactly like one
that does not exist, so ids cannot be probed across clinics.
"""
from __future__ import annotations

import functools
import logging
import math
from typing import Any, Callable, Iterable

from flask import Flask, current_app, g, request

from shared import audit_trail
from shared.auth.jwks import KeysUnavailable
from shared.auth.principal import ROLES, STAFF, AuthError, Principal
from shared.auth.tokens import TokenVerifier
from shared.config import TokenSettings
from shared.errors import Problem

__all__ = [
    "ROLES", "STAFF", "AuthError", "Principal", "TokenVerifier", "authenticate", "check_client_access",
    "current_principal", "install_token_verifier", "requires",
]

log = logging.getLogger(__name__)

_EXTENSION = "stepwise.tokens"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="stepwise"'}


def install_token_verifier(app: Flask, settings: TokenSettings) -> None:
    app.extensions[_EXTENSION] = TokenVerifier(settings)


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("send a bearer token in the Authorization header")
    return token.strip()


def authenticate() -> Principal:
    """The caller of the current request, checked once and kept on ``g``."""
    principal: Principal | None = g.get("principal")
    if principal is None:
        verifier: TokenVerifier = current_app.extensions[_EXTENSION]
        try:
            principal = verifier.verify(_bearer_token())
        except AuthError as exc:
            raise Problem(401, f"Not authenticated: {exc}", headers=_CHALLENGE) from None
        except KeysUnavailable as exc:
            log.warning("identity provider keys unavailable: %s", exc)
            retry = max(1, math.ceil(verifier.settings.jwks_min_refresh_seconds))
            raise Problem(
                503, "The identity provider's keys could not be fetched to check the token; try again shortly",
                headers={"Retry-After": str(retry)},
            ) from None
        g.principal = principal
    return principal


def requires(*roles: str) -> Callable[..., Any]:
    """Route decorator: a valid token is needed, and its role must be one of ``roles`` (403 otherwise)."""
    allowed: Iterable[str] = roles or ROLES

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            if principal.role not in allowed:
                raise Problem(403, f"The role {principal.role!r} may not do this; allowed: {', '.join(allowed)}")
            return view(*args, **kwargs)

        return wrapper

    return decorate


def current_principal() -> Principal:
    return authenticate()


def check_client_access(principal: Principal, client_id: str) -> None:
    """A client may only name itself; staff may name any client of their tenant. A client named
    and allowed is noted for the access audit, even when it has no records yet."""
    if principal.is_client and client_id != principal.sub:
        raise Problem(403, "A client may only act on its own records")
    audit_trail.note(client_id)
