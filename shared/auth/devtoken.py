"""Mint a development token: ``python -m shared.auth.devtoken --tenant clinic-a --role therapist --sub t-1``.

Signs with ``JWT_SECRET`` from the environment. For local stacks and demos only; production
tokens come from the clinic platform's identity provider.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import jwt

from shared.auth import ALGORITHM, ROLES


def mint(secret: str, *, sub: str, tenant: str, role: str, ttl_seconds: int = 3600, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    claims = {"sub": sub, "tenant": tenant, "role": role, "iat": issued, "exp": issued + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sub", required=True, help="user id")
    parser.add_argument("--tenant", required=True, help="clinic id")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    args = parser.parse_args(argv)
    secret = os.environ.get("JWT_SECRET")
    if not secret:
        print("JWT_SECRET is not set", file=sys.stderr)
        return 2
    print(mint(secret, sub=args.sub, tenant=args.tenant, role=args.role, ttl_seconds=args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
