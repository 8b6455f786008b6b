"""What every questionnaires route shares: the caller's view (documented problems are in shared.api)."""
from __future__ import annotations

from datetime import timedelta

from services.questionnaires.actions import Questionnaires
from shared.app import service_context
from shared.auth import check_client_access, current_principal
from shared.errors import invalid


def caller() -> Questionnaires:
    """What the caller may see and do, at this request's moment."""
    context = service_context()
    return Questionnaires(
        database=context.database,
        principal=current_principal(),
        now=context.clock.now(),
        grace=timedelta(hours=context.settings["OVERDUE_AFTER_HOURS"]),
    )


def client_named(data: dict) -> str:
    """The client a body is about: a client's own id by default; staff must name one."""
    principal = current_principal()
    client_id = data.get("client_id")
    if client_id is None:
        if not principal.is_client:
            raise invalid({"client_id": ["Name the client."]})
        client_id = principal.sub
    check_client_access(principal, client_id)
    return client_id
