"""Webhook subscriptions and their disable/enable history.

The subscription record (url, patterns, secret) is written once. Whether it is enabled is read
from ``subscription_events`` (see ``domain.subscription_state``), so the delivery job disabling
it and its owner re-enabling it append entries instead of racing on one field.

The secret is kept because every delivery is signed with it; it never leaves through the API.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from services.notifications import config
from services.notifications.domain.signing import matches
from services.notifications.domain.subscription_state import (
    DISABLED,
    ENABLED,
    Change,
    State,
    change_id,
    fold,
)
from shared.mongo import TenantRepository
from shared.paging import page


class Subscriptions(TenantRepository):
    collection_name = config.SUBSCRIPTIONS
    client_field = None

    def get(self, subscription_id: str) -> dict | None:
        return self.records.find_one({"_id": subscription_id})

    def page(self, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return page(self.records, {}, limit=limit, cursor=cursor)

    def states(self, subscription_ids: Iterable[str]) -> dict[str, State]:
        changes: dict[str, list[Change]] = {sid: [] for sid in subscription_ids}
        if changes:
            found = self.scoped(config.SUBSCRIPTION_EVENTS, None).find({"subscription_id": {"$in": list(changes)}})
            for doc in found:
                changes[doc["subscription_id"]].append(Change(doc["action"], doc["generation"], doc["at"]))
        return {sid: fold(entries) for sid, entries in changes.items()}

    def state(self, subscription_id: str) -> State:
        return self.states([subscription_id])[subscription_id]

    def matching(self, routing_key: str) -> list[dict]:
        """The enabled subscriptions with a pattern that matches ``routing_key``."""
        candidates = [
            doc for doc in self.records.find({}) if any(matches(p, routing_key) for p in doc["event_types"])
        ]
        states = self.states(doc["_id"] for doc in candidates)
        return [doc for doc in candidates if states[doc["_id"]].status == ENABLED]

    def _append(self, subscription_id: str, action: str, generation: int, now: datetime, by: str) -> bool:
        return self.scoped(config.SUBSCRIPTION_EVENTS, None).insert_once(
            {
                "_id": change_id(subscription_id, action, generation),
                "subscription_id": subscription_id,
                "action": action,
                "generation": generation,
                "at": now,
                "by": by,
            }
        )

    def disable(self, subscription_id: str, state: State, now: datetime, by: str) -> bool:
        """Disable the current generation; False when it already was."""
        return self._append(subscription_id, DISABLED, state.generation, now, by)

    def enable(self, subscription_id: str, state: State, now: datetime, by: str) -> bool:
        """Open the next generation; False when someone else re-enabled it first."""
        return self._append(subscription_id, ENABLED, state.generation + 1, now, by)
