"""Test fixtures: a real PostgreSQL (embedded, or the server of DATABASE_URL), a fresh test database
migrated and loaded with the `small` demo data once per session, and the app behind a TestClient."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from typing import Iterator

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.db.embedded import EmbeddedPostgres
from hub.settings import Settings
from tests.support.clients import GraphQLClient
from tests.support.database import (
    DEFAULT_CONSUMER,
    TEST_DB,
    audit_checkpoints_on,
    drop_run_databases,
    prepare,
    with_database,
)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """Admin URL of the PostgreSQL server the tests use."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield with_database(external, "postgres")
        asyncio.run(drop_run_databases(with_database(external, "postgres")))
        return
    pg = EmbeddedPostgres(Settings.from_env({}).data_dir).start()
    try:
        yield pg.admin_url()
        asyncio.run(drop_run_databases(pg.admin_url()))
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def prepared(server_url: str) -> tuple[Settings, dict[str, str]]:
    s = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=with_database(server_url, TEST_DB),
                policy_cache_seconds=0.0)
    s = audit_checkpoints_on(s, TEST_DB)
    tokens = asyncio.run(prepare(s, server_url, TEST_DB))
    return s, tokens


@pytest.fixture(scope="session")
def settings(prepared) -> Settings:
    """Settings of a fresh, migrated test database holding the small demo data (seed 42)."""
    return prepared[0]


@pytest.fixture(scope="session")
def tokens(prepared) -> dict[str, str]:
    """Bearer tokens of the demo consumers: commerce, labor, science, education, admin."""
    return prepared[1]


@pytest.fixture(scope="session")
def client(settings: Settings, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        c.headers["Authorization"] = f"Bearer {tokens[DEFAULT_CONSUMER]}"
        yield c


@pytest.fixture(scope="session")
def gql(client: TestClient) -> GraphQLClient:
    """GraphQL as the default test consumer (labor, granted every CONDITIONAL dataset)."""
    return GraphQLClient(client)


@pytest.fixture(scope="session")
def gql_as(client: TestClient, tokens: dict[str, str]):
    """``gql_as("commerce")``: GraphQL as that demo consumer (no test grants)."""
    return lambda who: GraphQLClient(client, tokens[who])


@pytest.fixture(scope="session")
def scratch(server_url: str) -> tuple[Settings, dict[str, str]]:
    """A second database like the session one (``hub_test_scratch``) for tests that write freely — fuzzed
    mutations, injection strings stored by mutations — so the session database stays as other tests expect."""
    s = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=with_database(server_url, "hub_test_scratch"),
                policy_cache_seconds=0.0, rate_limit_per_second=0.0)
    s = audit_checkpoints_on(s, "hub_test_scratch")
    return s, asyncio.run(prepare(s, server_url, "hub_test_scratch"))


@pytest.fixture(scope="session")
def scratch_client(scratch) -> Iterator[TestClient]:
    """The app on the scratch database (no default token: pass ``Authorization`` per request)."""
    with TestClient(create_app(scratch[0])) as c:
        yield c
