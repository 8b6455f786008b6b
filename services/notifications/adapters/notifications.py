"""The notification records: what a person was told, and the inbox they read it in.

A record is created once per (event, recipient) under a derived id, and after that only its
``read_at`` (with ``unread`` beside it) changes, by its recipient alone: two marks at once both
write "read now", and either time is the first reading. It carries no events: what happened to
it on each channel is recorded by the delivery attempts beside it.

The inbox is a long list (``config.RECIPIENT_NOTIFICATIONS``): each record is stamped with its
month, and a page reads the recipient's newest months one at a time, each an equality lookup on
(tenant, recipient, month) narrowed by ``inbox`` and, for the unread filter, ``unread``: booleans
stored top-level so that the filter is an equality too.
"""
from __future__ import annotations

from datetime import datetime

from services.notifications import config
from shared.mongo import TenantRepository


class Notifications(TenantRepository):
    collection_name = config.NOTIFICATIONS

    def create(self, document: dict) -> bool:
        return self.records.insert_once(self.listed(document))

    def listed(self, document: dict) -> dict:
        """``document`` as stored: with ``unread``, stamped for the recipient's inbox."""
        stored = {**document, "tenant": self.scope.tenant, "unread": document["read_at"] is None}
        return config.RECIPIENT_NOTIFICATIONS.stamp(self.database, stored)

    def get(self, notification_id: str) -> dict | None:
        return self.records.find_by_id(notification_id)

    def inbox(self, recipient_id: str, unread: bool | None, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        """Newest first. Notifications a person keeps out of their inbox (the inbox channel
        switched off) are not listed, but stay readable by id, which is where email links lead."""
        where: dict = {"inbox": True}
        if unread is not None:
            where["unread"] = unread
        return config.RECIPIENT_NOTIFICATIONS.page(
            self.database, self.records, {"tenant": self.scope.tenant, "recipient_id": recipient_id},
            limit=limit, cursor=cursor, where=where,
        )

    def mark_read(self, notification_id: str, now: datetime) -> dict | None:
        """Set ``read_at`` the first time; reading again keeps the first time."""
        self.records.update_one({"_id": notification_id, "read_at": None}, {"$set": {"read_at": now, "unread": False}})
        return self.get(notification_id)
