"""Who is calling: a user of one tenant with one role, and what that lets it see."""
from __future__ import annotations

from dataclasses import dataclass

from shared.mongo import Scope

ROLES = ("client", "therapist", "admin", "service")
STAFF = ("therapist", "admin", "service")


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
    """The token is missing, malformed, expired or carries bad claims; the message says which,
    and never repeats the token or what it holds."""
