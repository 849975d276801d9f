"""Test fixtures: a real PostgreSQL (embedded, or the server of DATABASE_URL), a fresh test database
migrated and loaded with the `small` demo data once per session, and the app behind a TestClient."""

from __future__ import annotations

import asyncio
import functools
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.db.embedded import EmbeddedPostgres
from hub.db.runtime import migrate_all
from hub.settings import Settings

TEST_DB = "hub_test"
DEMO_SEED = 42
# Test databases ("hub_test*") get a per-run suffix so that two test runs sharing one server (two
# checkouts, or a developer's run beside CI) never drop each other's databases. Dropped at the end.
RUN_ID = os.environ.get("HUB_TEST_RUN_ID") or str(os.getpid())


def _db_name(name: str) -> str:
    return f"{name}_{RUN_ID}" if name.startswith("hub_test") else name


@functools.lru_cache(maxsize=1)
def _audit_folder() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="hub-test-audit-")  # removed when the test run's interpreter exits


def _audit_key_dir() -> Path:
    return Path(_audit_folder().name)


def audit_checkpoints_on(settings: Settings, name: str) -> Settings:
    """``settings`` with signed audit checkpoints on (hub.governance.checkpoints): the key of HUB_AUDIT_SIGNING_KEY when
    set (``make test`` sets it to the demo key), else one generated for this test run, and an export file of
    database ``name``'s own."""
    from hub.governance.audit_keys import generate

    key = Path(os.environ["HUB_AUDIT_SIGNING_KEY"]) if os.environ.get("HUB_AUDIT_SIGNING_KEY") else None
    if key is None or not key.exists():
        key = _audit_key_dir() / "signing-key.pem"
        if not key.exists():
            generate(key)
    return replace(settings, audit_signing_key=key, audit_checkpoint_export=_audit_key_dir() / f"{_db_name(name)}.jsonl")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + _db_name(name), parts.query, parts.fragment))


async def recreate_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'drop database if exists "{_db_name(name)}" with (force)')
        await conn.execute(f'create database "{_db_name(name)}"')
    finally:
        await conn.close()


async def _drop_run_databases(admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        names = await conn.fetch("select datname from pg_database where datname like 'hub\\_test%' "
                                 "and datname like '%\\_' || $1", RUN_ID)
        for r in names:
            await conn.execute(f'drop database if exists "{r["datname"]}" with (force)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """Admin URL of the PostgreSQL server the tests use."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield with_database(external, "postgres")
        asyncio.run(_drop_run_databases(with_database(external, "postgres")))
        return
    pg = EmbeddedPostgres(Settings.from_env({}).data_dir).start()
    try:
        yield pg.admin_url()
        asyncio.run(_drop_run_databases(pg.admin_url()))
    finally:
        pg.stop()


# The default test consumer is labor's system, granted every CONDITIONAL dataset of the other
# departments (with their personal fields), so API tests see all but NOT_SHARED data.
DEFAULT_CONSUMER = "labor"


async def _prepare(settings: Settings, admin_url: str, name: str, test_grants: bool = True) -> dict[str, str]:
    """Fresh database: migrate, load the small demo data, create the demo consumers; returns their tokens. With
    ``test_grants`` labor is also granted every CONDITIONAL dataset (without: the database ``make run`` serves)."""
    from hub.governance.consumers import create_demo_consumers
    from hub.db.pools import Databases
    from hub.demo.load import load_demo, pools_of
    from resolvers.analytics.statistics import refresh_statistics

    await recreate_database(admin_url, name)
    await migrate_all(settings)
    db = await Databases(settings, settings.database_url).open()
    try:
        await load_demo(pools_of(db), scale="small", seed=DEMO_SEED)
        await refresh_statistics(db)  # the published statistics' summary tables
        tokens = await create_demo_consumers(db.hub)
        if test_grants:
            await grant_everything_conditional(db.pools["bigdata"], DEFAULT_CONSUMER)
    finally:
        await db.close()
    return tokens


async def grant_everything_conditional(pool: asyncpg.Pool, department: str) -> None:
    async with pool.acquire() as conn:
        consumer_id = await conn.fetchval("select id from hub.consumers where department = $1 order by id limit 1",
                                          department)
        datasets = await conn.fetch("select name from hub.datasets where sharing_class = 'CONDITIONAL' "
                                    "and department <> $1", department)
        for d in datasets:
            personal = [r["field"] for r in await conn.fetch(
                "select field from hub.dataset_fields where dataset = $1 and sensitivity = 'PERSONAL'", d["name"])]
            request_id = await conn.fetchval(
                "insert into hub.access_requests (consumer_id, department, dataset, fields, purpose, until, status, "
                "reviewed_at, reason) values ($1, $2, $3, $4, 'test fixture grant', current_date + 365, 'APPROVED', "
                "now(), null) returning id", consumer_id, department, d["name"], personal)
            await conn.execute("insert into hub.grants (request_id, department, dataset, fields, expires_at) "
                               "values ($1, $2, $3, $4, now() + interval '365 days')",
                               request_id, department, d["name"], personal)


@pytest.fixture(scope="session")
def prepared(server_url: str) -> tuple[Settings, dict[str, str]]:
    s = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=with_database(server_url, TEST_DB),
                policy_cache_seconds=0.0)
    s = audit_checkpoints_on(s, TEST_DB)
    tokens = asyncio.run(_prepare(s, server_url, TEST_DB))
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


class GraphQLClient:
    def __init__(self, client: TestClient, token: str | None = None):
        self.http = client
        self.token = token

    def post(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any):
        if self.token is not None:
            kwargs.setdefault("headers", {})["Authorization"] = f"Bearer {self.token}"
        return self.http.post("/graphql", json={"query": query, "variables": variables or {}}, **kwargs)

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        from tests.helpers import body_of

        return body_of(response)  # checks, then drops, extensions.traceId

    @property
    def stats(self):
        return self.http.app.state.db.stats


@pytest.fixture(scope="session")
def gql(client: TestClient) -> GraphQLClient:
    """GraphQL as the default test consumer (labor, granted every CONDITIONAL dataset)."""
    return GraphQLClient(client)


@pytest.fixture(scope="session")
def gql_as(client: TestClient, tokens: dict[str, str]):
    """``gql_as("commerce")``: GraphQL as that demo consumer (no test grants)."""
    return lambda who: GraphQLClient(client, tokens[who])


def empty_database(server_url: str, name: str) -> tuple[Settings, dict[str, str]]:
    """A fresh migrated database ``name`` (a ``hub_test*`` name) with the demo consumers and no data:
    its settings and the consumers' tokens."""
    from hub.governance.consumers import create_demo_consumers
    from hub.db.pools import Databases

    settings = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=with_database(server_url, name),
                       policy_cache_seconds=0.0)
    settings = audit_checkpoints_on(settings, name)

    async def prepare() -> dict[str, str]:
        await recreate_database(server_url, name)
        await migrate_all(settings)
        db = await Databases(settings, settings.database_url).open()
        try:
            return await create_demo_consumers(db.hub)
        finally:
            await db.close()

    return settings, asyncio.run(prepare())


def client_with_token(settings: Settings, token: str) -> TestClient:
    """A TestClient of a new app on ``settings`` sending ``token`` by default (use it as a context manager)."""
    client = TestClient(create_app(settings))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


@pytest.fixture(scope="session")
def scratch(server_url: str) -> tuple[Settings, dict[str, str]]:
    """A second database like the session one (``hub_test_scratch``) for tests that write freely — fuzzed
    mutations, injection strings stored by mutations — so the session database stays as other tests expect."""
    s = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=with_database(server_url, "hub_test_scratch"),
                policy_cache_seconds=0.0, rate_limit_per_second=0.0)
    s = audit_checkpoints_on(s, "hub_test_scratch")
    return s, asyncio.run(_prepare(s, server_url, "hub_test_scratch"))


@pytest.fixture(scope="session")
def scratch_client(scratch) -> Iterator[TestClient]:
    """The app on the scratch database (no default token: pass ``Authorization`` per request)."""
    with TestClient(create_app(scratch[0])) as c:
        yield c
