"""Each person's notification preferences, one document per (tenant, user).

A PUT states the whole set, so the last one wins; that is what a person changing their own
settings expects, and there is no list in it to lose an element of.
"""
from __future__ import annotations

from datetime import datetime

from pymongo.errors import DuplicateKeyError

from services.notifications import config
from services.notifications.domain import ids
from services.notifications.domain.preferences import Preferences, as_dict, parse_quiet_hours
from shared.mongo import TenantRepository


class PreferencesRepository(TenantRepository):
    collection_name = config.PREFERENCES
    # A client may read and write only its own preferences.
    client_field = "user_id"

    def find(self, user_id: str) -> dict | None:
        return self.records.find_one({"_id": ids.preferences(self.scope.tenant, user_id)})

    def load(self, user_id: str) -> Preferences | None:
        """The stored preferences as the domain reads them; None when the person set none."""
        doc = self.find(user_id)
        if doc is None:
            return None
        quiet = doc.get("quiet_hours")
        return Preferences(
            channels=dict(doc["channels"]),
            email=doc.get("email"),
            quiet_hours=parse_quiet_hours(quiet) if quiet else None,
        )

    def put(self, user_id: str, prefs: Preferences, now: datetime, by: str) -> dict:
        doc = {
            "_id": ids.preferences(self.scope.tenant, user_id),
            "user_id": user_id,
            **as_dict(prefs),
            "updated_at": now,
            "updated_by": by,
        }
        try:
            self.records.replace_one({"_id": doc["_id"]}, doc, upsert=True)
        except DuplicateKeyError:
            # Two first PUTs raced to insert; the other one's document exists now: replace it.
            self.records.replace_one({"_id": doc["_id"]}, doc)
        # As stored (times to the millisecond); as written, if erased with its user since.
        return self.records.find_one({"_id": doc["_id"]}) or doc
