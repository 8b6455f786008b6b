"""Mint a development token: ``python -m shared.auth.devtoken --tenant clinic-a --role therapist --sub t-1``.

Signs with ``JWT_SECRET`` (or the file ``JWT_SECRET_FILE`` names) and adds ``iss``/``aud`` when
``JWT_ISSUER``/``JWT_AUDIENCE`` are set, so the token passes the services' checks. For local
stacks and demos only; production tokens come from the clinic's identity provider.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import jwt

from shared.auth.principal import ROLES
from shared.config import ConfigError, load_token_settings


def mint(
    secret: str,
    *,
    sub: str,
    tenant: str,
    role: str,
    ttl_seconds: int = 3600,
    now: float | None = None,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    issued = int(now if now is not None else time.time())
    claims = {"sub": sub, "tenant": tenant, "role": role, "iat": issued, "exp": issued + ttl_seconds}
    claims.update({name: value for name, value in (("iss", issuer), ("aud", audience)) if value})
    return jwt.encode(claims, secret, algorithm="HS256")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sub", required=True, help="user id")
    parser.add_argument("--tenant", required=True, help="clinic id")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (at most JWT_MAX_LIFETIME_SECONDS)")
    args = parser.parse_args(argv)
    try:
        settings = load_token_settings(os.environ)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if not settings.secret:
        print("JWT_SECRET (or JWT_SECRET_FILE) is not set: development tokens are signed with it", file=sys.stderr)
        return 2
    print(mint(settings.secret, sub=args.sub, tenant=args.tenant, role=args.role, ttl_seconds=args.ttl,
               issuer=settings.issuer, audience=settings.audience))
    return 0


if __name__ == "__main__":
    sys.exit(main())
