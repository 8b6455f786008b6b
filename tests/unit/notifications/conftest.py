import pytest


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
