"""Test fixtures: a real PostgreSQL (embedded, or the server of DATABASE_URL), a fresh test database
migrated and loaded with the `small` demo data once per session, and the app behind a TestClient."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.embedded import EmbeddedPostgres
from hub.runtime import migrate_all
from hub.settings import Settings

TEST_DB = "hub_test"
DEMO_SEED = 42


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def recreate_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """Admin URL of the PostgreSQL server the tests use."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield with_database(external, "postgres")
        return
    pg = EmbeddedPostgres(Settings.from_env({}).data_dir).start()
    try:
        yield pg.admin_url()
    finally:
        pg.stop()


async def _prepare(settings: Settings, admin_url: str, name: str) -> None:
    from hub.db import Databases
    from hub.seed import load_demo

    await recreate_database(admin_url, name)
    await migrate_all(settings)
    db = await Databases(settings, settings.database_url).open()
    try:
        pools = {"hub": db.pools["bigdata"], **{d: db.pools[d] for d in ("commerce", "labor", "science", "education")}}
        await load_demo(pools, scale="small", seed=DEMO_SEED)
    finally:
        await db.close()


@pytest.fixture(scope="session")
def settings(server_url: str) -> Settings:
    """Settings of a fresh, migrated test database holding the small demo data (seed 42)."""
    s = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=with_database(server_url, TEST_DB))
    asyncio.run(_prepare(s, server_url, TEST_DB))
    return s


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


class GraphQLClient:
    def __init__(self, client: TestClient):
        self.http = client

    def post(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any):
        return self.http.post("/graphql", json={"query": query, "variables": variables or {}}, **kwargs)

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        return response.json()

    @property
    def stats(self):
        return self.http.app.state.db.stats


@pytest.fixture(scope="session")
def gql(client: TestClient) -> GraphQLClient:
    return GraphQLClient(client)
