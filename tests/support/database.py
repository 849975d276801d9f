"""The test databases: names unique to a test run, a fresh migrated database with the small demo data
(``prepare``) or without data (``empty_database``), the default test consumer's grants, signed audit checkpoints.
The fixtures of tests/conftest.py and the live-server helpers (``tests.support.live``) build on these."""

from __future__ import annotations

import asyncio
import functools
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from hub.db.pools import Databases
from hub.db.runtime import migrate_all
from hub.demo.load import load_demo, pools_of
from hub.governance.audit_keys import generate
from hub.governance.consumers import create_demo_consumers
from hub.settings import Settings
from resolvers.analytics.statistics import refresh_statistics

TEST_DB = "hub_test"
DEMO_SEED = 42
DEMO_CELL_KEY_SECRET = "hub-test-demo-42"  # see fix_cell_key_secret
# Test databases ("hub_test*") get a per-run suffix so that two test runs sharing one server (two
# checkouts, or a developer's run beside CI) never drop each other's databases. Dropped at the end.
RUN_ID = os.environ.get("HUB_TEST_RUN_ID") or str(os.getpid())


def db_name(name: str) -> str:
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
    key = Path(os.environ["HUB_AUDIT_SIGNING_KEY"]) if os.environ.get("HUB_AUDIT_SIGNING_KEY") else None
    if key is None or not key.exists():
        key = _audit_key_dir() / "signing-key.pem"
        if not key.exists():
            generate(key)
    return replace(settings, audit_signing_key=key, audit_checkpoint_export=_audit_key_dir() / f"{db_name(name)}.jsonl")


async def fix_cell_key_secret(conn: asyncpg.Connection, secret: str) -> None:
    """Replace the installation's random cell-key secret (migration 0015) with ``secret``. With the random one the
    published (perturbed) figures, and everything computed from them (the supply backtest of forecastAccuracy),
    would differ from one test run to the next."""
    await conn.execute("update hub.stat_cell_key_secret set secret = $1", secret)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + db_name(name), parts.query, parts.fragment))


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'drop database if exists "{db_name(name)}" with (force)')
    finally:
        await conn.close()


async def recreate_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'drop database if exists "{db_name(name)}" with (force)')
        await conn.execute(f'create database "{db_name(name)}"')
    finally:
        await conn.close()


async def drop_run_databases(admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        names = await conn.fetch("select datname from pg_database where datname like 'hub\\_test%' "
                                 "and datname like '%\\_' || $1", RUN_ID)
        for r in names:
            await conn.execute(f'drop database if exists "{r["datname"]}" with (force)')
    finally:
        await conn.close()


# The default test consumer is labor's system, granted every CONDITIONAL dataset of the other
# departments (with their personal fields), so API tests see all but NOT_SHARED data.
DEFAULT_CONSUMER = "labor"


async def prepare(settings: Settings, admin_url: str, name: str, test_grants: bool = True,
                  scale: str | None = "small", statistics: bool = True) -> dict[str, str]:
    """Fresh database: migrate, load the demo data of ``scale`` (None: no data) and compute the published
    statistics from it, create the demo consumers; returns their tokens. With ``test_grants`` labor is also
    granted every CONDITIONAL dataset (without: the database ``make run`` serves)."""
    await recreate_database(admin_url, name)
    await migrate_all(settings)
    db = await Databases(settings, settings.database_url).open()
    try:
        if scale is not None:
            async with db.hub.pool.acquire() as conn:
                await fix_cell_key_secret(conn, DEMO_CELL_KEY_SECRET)
            await load_demo(pools_of(db), scale=scale, seed=DEMO_SEED)
            if statistics:
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


def empty_database(server_url: str, name: str) -> tuple[Settings, dict[str, str]]:
    """A fresh migrated database ``name`` (a ``hub_test*`` name) with the demo consumers and no data:
    its settings and the consumers' tokens."""
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


async def keep_only(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for other in ("commerce", "labor", "science", "education"):
            if other != schema:
                tables = await conn.fetch("select tablename from pg_tables where schemaname = $1", other)
                if tables:
                    names = ", ".join(f"{other}.{t['tablename']}" for t in tables)
                    await conn.execute(f"truncate {names} cascade")
    finally:
        await conn.close()
