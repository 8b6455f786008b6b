"""The service tier: one service's actions, event handlers and API (through Flask's test client)
against the real database, with no broker and no sockets.

Each service's database is created once for the whole tier, with its indexes, and emptied after
every test of that service (``Harness.empty``), so a test starts from nothing without paying for creating a
database. There is no RabbitMQ here: the services' settings point where nothing listens, and what
a test checks about events is what was stored with the records (the outbox), which is what the
relay publishes. What crosses the broker is tested in tests/integration.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator

import pytest

from shared.clock import FixedClock
from tests.conftest import JWT_SECRET
from tests.support.harness import Harness



@pytest.fixture(scope="session")
def databases(mongo_url) -> Iterator[Harness]:
    """The tier's databases on the real server, dropped at the end of the session."""
    with Harness(mongo_url, None, JWT_SECRET) as instance:
        yield instance


@pytest.fixture
def harness(databases, service_name) -> Iterator[Harness]:
    """The tier's databases; the one of the service under test (each service's conftest names
    it) is emptied when the test ends."""
    yield databases
    databases.empty(service_name)


@pytest.fixture(scope="session")
def tier_clock() -> FixedClock:
    """The one clock of the tier's apps, built once; each test sets it (``clock``)."""
    return FixedClock(datetime(2025, 1, 1, tzinfo=timezone.utc))


@pytest.fixture
def clock(tier_clock, start, harness) -> FixedClock:
    """The tier's clock at this service's ``start`` (each service's conftest says when that is)."""
    tier_clock.set(start)
    return tier_clock
