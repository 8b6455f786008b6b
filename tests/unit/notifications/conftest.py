import pytest

from services.notifications.domain.escalation import RAISED, Alert, HistoryEntry


@pytest.fixture
def make_event():
    """A CloudEvent as the other services publish it, for routing key ``key`` and ``data``."""

    def make(key, data, *, version=1, event_id="evt-1", tenant="clinic-1"):
        return {
            "specversion": "1.0",
            "id": event_id,
            "type": f"stepwise.{key}.v{version}",
            "source": "/stepwise/test",
            "subject": "resource-1",
            "tenantid": tenant,
            "time": "2025-03-01T10:00:00Z",
            "datacontenttype": "application/json",
            "data": data,
        }

    return make


@pytest.fixture
def raised_alert():
    """An alert as the rules consumer raises it for ``event`` (a ``risk.flagged`` CloudEvent),
    telling ``recipients`` at ``now``."""

    def raised(alert_id, event, recipients, now):
        return Alert(
            id=alert_id,
            tenant_id=event["tenantid"],
            client_id=event["data"]["client_id"],
            event_id=event["id"],
            status=RAISED,
            raised_at=now,
            recipients=tuple(recipients),
            context=dict(event["data"]),
            history=(HistoryEntry(RAISED, now, recipients=tuple(recipients)),),
        )

    return raised
