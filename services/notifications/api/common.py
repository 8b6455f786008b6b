"""What every notifications route shares: the caller's clinic (documented problems are in shared.api)."""
from __future__ import annotations

from services.notifications.actions import Clinic
from services.notifications.adapters.webhook_client import Targets
from shared.app import service_context
from shared.auth import current_principal

# The webhook target rules the API checks subscriptions against (``adapters.webhook_client.Targets``).
TARGETS = "webhook_targets"


def caller_clinic() -> Clinic:
    """What the caller may read and change, at this request's moment."""
    context = service_context()
    return Clinic(context.database, current_principal(), context.clock.now())


def webhook_targets() -> Targets:
    return service_context().extras[TARGETS]
