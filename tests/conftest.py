"""Fixtures for tests against the real servers: RabbitMQ and a MongoDB-compatible database.

Where the servers come from, in order:
1. ``MONGO_URL`` / ``AMQP_URL`` from the environment (``scripts/test`` starts local servers and
   sets them);
2. testcontainers (MongoDB 7, RabbitMQ 3), when a Docker engine answers;
3. otherwise the test fails with a message saying how to provide them. Nothing is mocked, and
   no integration test is ever skipped (under ``CI=true`` or not).

Every test gets its own database, exchange and queue prefix, so tests run in any order (the
service tier, tests/service/conftest.py, gives each service one database emptied after each test).
"""
from __future__ import annotations

import os
from typing import Iterator

import pytest

from shared.auth.devtoken import mint
from tests.support.harness import Harness
from tests.support.peers import receiver, smtp_server  # noqa: F401  (fixtures for every test)
from tests.support.stack import stack  # noqa: F401  (the three services in this process)
from tests.support.spans import spans  # noqa: F401  (tracing into memory)

JWT_SECRET = "test-secret-for-stepwise-tests-only-0123456789"
MONGO_IMAGE = "mongo:7.0.14"
RABBITMQ_IMAGE = "rabbitmq:3.13.7-management"


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def _no_server(name: str, variable: str) -> None:
    pytest.fail(
        f"No {name} for the integration tests: set {variable}, or run the tests with `scripts/test` "
        f"(which starts RabbitMQ and FerretDB locally), or start a Docker engine for testcontainers.",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    if os.environ.get("MONGO_URL"):
        yield os.environ["MONGO_URL"]
    elif _docker_answers():
        from testcontainers.mongodb import MongoDbContainer

        with MongoDbContainer(MONGO_IMAGE) as container:
            yield container.get_connection_url()
    else:
        _no_server("MongoDB", "MONGO_URL")


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    if os.environ.get("AMQP_URL"):
        yield os.environ["AMQP_URL"]
    elif _docker_answers():
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer(RABBITMQ_IMAGE) as container:
            params = container.get_connection_params()
            yield f"amqp://guest:guest@{params.host}:{params.port}/%2F"
    else:
        _no_server("RabbitMQ", "AMQP_URL")


@pytest.fixture
def harness(mongo_url, amqp_url) -> Iterator[Harness]:
    """This test's environment, workers and cleanup (see ``tests/support/harness.py``)."""
    with Harness(mongo_url, amqp_url, JWT_SECRET) as instance:
        yield instance


@pytest.fixture
def token():
    def make(role: str = "therapist", sub: str = "therapist-1", tenant: str = "clinic-a", ttl: int = 3600) -> str:
        return mint(JWT_SECRET, sub=sub, tenant=tenant, role=role, ttl_seconds=ttl)

    return make


@pytest.fixture
def auth(token):
    """Headers for a caller: ``auth("client", "client-1")``."""

    def headers(role: str = "therapist", sub: str = "therapist-1", tenant: str = "clinic-a") -> dict:
        return {"Authorization": f"Bearer {token(role, sub, tenant)}"}

    return headers
