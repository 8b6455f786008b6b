"""Care teams, the tenant's clinician roster and its admins, one document per member.

A care team grows from events (an assignment names its therapist) while a person may be
replacing it by hand. Keeping each member in its own document, under an id made of (tenant,
group, client, member), makes an addition a single insert that cannot be lost to a concurrent
one, as an update of a shared list could be on FerretDB.
"""
from __future__ import annotations

from datetime import datetime

from services.notifications import config
from services.notifications.domain import ids
from shared.mongo import TenantRepository

CARE_TEAM = "care_team"
ADMINS = "admins"
# The tenant's clinicians (therapists): the only people ever on a care team or told about a client.
CLINICIANS = "clinicians"


class Memberships(TenantRepository):
    collection_name = config.MEMBERSHIPS

    def members(self, group: str, client_id: str | None = None) -> list[str]:
        found = self.records.find({"group": group, "client_id": client_id}, projection={"member_id": 1})
        return [doc["member_id"] for doc in found.sort([("added_at", 1), ("position", 1), ("_id", 1)])]

    def roster(self) -> frozenset[str]:
        """The tenant's clinicians, whoever asks (a client reading its care team included)."""
        found = self.scoped(config.MEMBERSHIPS, None).find({"group": CLINICIANS}, projection={"member_id": 1})
        return frozenset(doc["member_id"] for doc in found)

    def add(
        self, group: str, client_id: str | None, member_id: str, now: datetime, by: str, position: int = 0
    ) -> bool:
        """Add one member; False when they were already there. Members are listed in the order
        they were added, and those added together in ``position`` order."""
        return self.records.insert_once(
            {
                "_id": ids.membership(self.scope.tenant, group, client_id, member_id),
                "group": group,
                "client_id": client_id,
                "member_id": member_id,
                "added_at": now,
                "position": position,
                "added_by": by,
            }
        )

    def replace(self, group: str, client_id: str | None, member_ids: list[str], now: datetime, by: str) -> list[str]:
        """Make the group exactly ``member_ids``: add the missing, remove the others.

        Members an event adds while this runs are kept: a removal only touches members that
        were there when it started.
        """
        before = self.members(group, client_id)
        for position, member_id in enumerate(member_ids):
            self.add(group, client_id, member_id, now, by, position)
        for member_id in set(before) - set(member_ids):
            self.records.delete_one({"_id": ids.membership(self.scope.tenant, group, client_id, member_id)})
        return self.members(group, client_id)
