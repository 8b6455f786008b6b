"""Webhook subscriptions and their disable/enable history.

The subscription record (url, patterns, secret) is written once. Whether it is enabled is read
from ``subscription_events`` (see ``domain.subscription_state``), so the delivery job disabling
it and its owner re-enabling it append entries instead of racing on one field. A subscription's
state is read on its own, by equality on its id: a tenant has a handful of subscriptions, so a
page of them (or the few an event matches) costs a handful of small lookups, and the state is
never a copy that could lag behind a re-enable and drop events.

The secret is kept because every delivery is signed with it; it never leaves through the API.
Rotations are records of their own (``subscription_secrets``, see ``domain.secret_rotation``),
found by equality on the subscription's id. Deleting a subscription deletes its record and its
secrets, so no delivery is signed or sent for it again; deliveries still waiting are cancelled
when they come due (``work.channels``).
"""
from __future__ import annotations

from datetime import datetime

from services.notifications import config
from services.notifications.domain.secret_rotation import Rotation, next_number, rotation_id
from services.notifications.domain.signing import matches
from services.notifications.domain.subscription_state import (
    DISABLED,
    ENABLED,
    State,
    StatusChange,
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

    def state(self, subscription_id: str) -> State:
        """Folded from the subscription's own changes, found by equality on its id."""
        found = self.scoped(config.SUBSCRIPTION_EVENTS, None).find({"subscription_id": subscription_id})
        return fold(StatusChange(doc["action"], doc["generation"], doc["at"]) for doc in found)

    def matching(self, routing_key: str) -> list[dict]:
        """The enabled subscriptions with a pattern that matches ``routing_key``: the tenant's
        subscriptions (a short list, read whole), then the state of each that matches."""
        candidates = [
            doc for doc in self.records.find({}) if any(matches(p, routing_key) for p in doc["event_types"])
        ]
        return [doc for doc in candidates if self.state(doc["_id"]).status == ENABLED]

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

    def rotations(self, subscription_id: str) -> list[Rotation]:
        found = self.scoped(config.SUBSCRIPTION_SECRETS, None).find({"subscription_id": subscription_id})
        return [Rotation(doc["number"], doc["secret"], doc["at"], doc["previous_valid_until"]) for doc in found]

    def rotate(self, subscription_id: str, secret: str, now: datetime, previous_valid_until: datetime, by: str) -> bool:
        """Store the next rotation; False when another rotation took its number meanwhile."""
        number = next_number(self.rotations(subscription_id))
        return self.scoped(config.SUBSCRIPTION_SECRETS, None).insert_once(
            {
                "_id": rotation_id(subscription_id, number),
                "subscription_id": subscription_id,
                "number": number,
                "secret": secret,
                "at": now,
                "previous_valid_until": previous_valid_until,
                "by": by,
            }
        )

    def delete(self, subscription_id: str) -> None:
        """The record first: from then on the subscription matches no event and signs nothing."""
        self.records.delete_one({"_id": subscription_id})
        self.scoped(config.SUBSCRIPTION_SECRETS, None).delete_many({"subscription_id": subscription_id})
        self.scoped(config.SUBSCRIPTION_EVENTS, None).delete_many({"subscription_id": subscription_id})
