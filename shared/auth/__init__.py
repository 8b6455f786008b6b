"""Authentication and authorization per the contract: HS256 JWTs, roles, tenant and client scope.

Claims: ``sub`` (user id), ``tenant`` (clinic id), ``role`` and ``exp``. A ``client`` acts only
on records whose ``client_id`` is its own ``sub``; ``therapist``, ``admin`` and ``service`` act
on any client of their own tenant. Another tenant's record is answered 404, exactly like one
that does not exist, so ids cannot be probed across clinics.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Iterable

import jwt
from flask import current_app, g, request

from shared.errors import Problem
from shared.mongo import Scope

ROLES = ("client", "therapist", "admin", "service")
STAFF = ("therapist", "admin", "service")
ALGORITHM = "HS256"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="stepwise"'}


@dataclass(frozen=True)
class Principal:
    sub: str
    tenant: str
    role: str

    @property
    def is_client(self) -> bool:
        return self.role == "client"

    @property
    def scope(self) -> Scope:
        """What this caller may see: its tenant, and for a client its own records only."""
        return Scope(self.tenant, self.sub if self.is_client else None)


class AuthError(Exception):
    """The token is missing, malformed, expired or carries bad claims."""


def decode_token(token: str, secret: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise AuthError("the token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"the token is invalid: {exc}") from None
    tenant, role, sub = claims.get("tenant"), claims.get("role"), claims.get("sub")
    if not isinstance(tenant, str) or not tenant:
        raise AuthError("the token has no tenant claim")
    if role not in ROLES:
        raise AuthError(f"the token's role must be one of {', '.join(ROLES)}")
    if not isinstance(sub, str) or not sub:
        raise AuthError("the token's sub claim must be a non-empty string")
    return Principal(sub=sub, tenant=tenant, role=role)


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("send a bearer token in the Authorization header")
    return token.strip()


def authenticate() -> Principal:
    """The caller of the current request, checked once and kept on ``g``."""
    principal = g.get("principal")
    if principal is None:
        try:
            principal = decode_token(_bearer_token(), current_app.config["JWT_SECRET"])
        except AuthError as exc:
            raise Problem(401, f"Not authenticated: {exc}", headers=_CHALLENGE) from None
        g.principal = principal
    return principal


def requires(*roles: str) -> Callable:
    """Route decorator: a valid token is needed, and its role must be one of ``roles`` (403 otherwise)."""
    allowed: Iterable[str] = roles or ROLES

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate()
            if principal.role not in allowed:
                raise Problem(403, f"The role {principal.role!r} may not do this; allowed: {', '.join(allowed)}")
            return view(*args, **kwargs)

        return wrapper

    return decorate


def current_principal() -> Principal:
    return authenticate()


def check_client_access(principal: Principal, client_id: str) -> None:
    """A client may only name itself; staff may name any client of their tenant."""
    if principal.is_client and client_id != principal.sub:
        raise Problem(403, "A client may only act on its own records")
