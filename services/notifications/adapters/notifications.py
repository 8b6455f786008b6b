"""The notification records: what a person was told, and the inbox they read it in.

A record is created once per (event, recipient) under a derived id, and after that only its
``read_at`` changes. It carries no events: what happened to it on each channel is recorded by
the delivery attempts beside it.
"""
from __future__ import annotations

from datetime import datetime

from services.notifications import config
from shared.mongo import TenantRepository
from shared.paging import page


class Notifications(TenantRepository):
    collection_name = config.NOTIFICATIONS

    def create(self, document: dict) -> bool:
        return self.records.insert_once(document)

    def get(self, notification_id: str) -> dict | None:
        return self.records.find_one({"_id": notification_id})

    def inbox(self, recipient_id: str, unread: bool | None, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        """Newest first. Notifications a person keeps out of their inbox (the inbox channel
        switched off) are not listed, but stay readable by id, which is where email links lead."""
        query: dict = {"recipient_id": recipient_id, "inbox": True}
        if unread is True:
            query["read_at"] = None
        elif unread is False:
            query["read_at"] = {"$ne": None}
        return page(self.records, query, limit=limit, cursor=cursor, descending=True)

    def mark_read(self, notification_id: str, now: datetime) -> dict | None:
        """Set ``read_at`` the first time; reading again keeps the first time."""
        self.records.update_one({"_id": notification_id, "read_at": None}, {"$set": {"read_at": now}})
        return self.get(notification_id)
