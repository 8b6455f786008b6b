"""The service tier: one service's actions, event handlers and API (through Flask's test client)
against the real database, with no broker and no sockets.

Each service's database is created once for the whole tier, with its indexes, and emptied after
every test (``Harness.empty``), so a test starts from nothing without paying for creating a
database. There is no RabbitMQ here: the services' settings point where nothing listens, and what
a test checks about events is what was stored with the records (the outbox), which is what the
relay publishes. What crosses the broker is tested in tests/integration.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.conftest import JWT_SECRET
from tests.support.harness import Harness



@pytest.fixture(scope="session")
def databases(mongo_url) -> Iterator[Harness]:
    """The tier's databases on the real server, dropped at the end of the session."""
    with Harness(mongo_url, None, JWT_SECRET) as instance:
        yield instance


@pytest.fixture
def harness(databases) -> Iterator[Harness]:
    """This test's databases (the tier's), emptied when it ends."""
    yield databases
    databases.empty()
