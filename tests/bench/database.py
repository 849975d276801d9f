"""The bench database: ``hub_bench`` on the embedded server (or on DATABASE_URL's server), migrated,
seeded with the ``large`` demo data once (skipped when ``hub.meta`` already records the same scale and
seed), and one bench consumer whose token is kept in ``.hub/bench/token.json`` (bench only)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from hub import ROOT
from hub.settings import Settings

BENCH_DIR = ROOT / ".hub" / "bench"
BENCH_DB = os.environ.get("HUB_BENCH_DATABASE", "hub_bench")
SCALE = os.environ.get("HUB_BENCH_SCALE", "large")
SEED = 42
# The bench consumer: a labor system reading commerce and education data too (cross-department reads,
# every dataset of the bench operations is UNCONDITIONAL).
CONSUMER_DEPARTMENT = "labor"
CONSUMER_NAME = "bench (labor)"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextlib.contextmanager
def server(log=print) -> Iterator[str]:
    """URL of the bench database (created if missing) on DATABASE_URL's server or the embedded one."""
    from hub.db.runtime import ensure_database

    external = os.environ.get("DATABASE_URL")
    if external:
        admin = with_database(external, "postgres")
        asyncio.run(ensure_database(admin, BENCH_DB))
        yield with_database(external, BENCH_DB)
        return
    from hub.db.embedded import EmbeddedPostgres

    pg = EmbeddedPostgres(Settings.from_env({}).data_dir).start()
    try:
        asyncio.run(ensure_database(pg.admin_url(), BENCH_DB))
        yield pg.admin_url(BENCH_DB)
    finally:
        pg.stop()


async def prepare(url: str, scale: str = SCALE, seed: int = SEED, log=print) -> str:
    """Migrate, seed unless already seeded with ``scale``/``seed``; returns the bench consumer's token."""
    from hub.governance.consumers import create_consumer, hash_token
    from hub.db.pools import Databases
    from hub.db.runtime import migrate_all
    from hub.demo.load import load_demo

    settings = replace(Settings.from_env({}), database_url=url)
    await migrate_all(settings)
    db = await Databases(settings, url).open()
    try:
        marker = await db.hub.fetchval("hub/demo_data_status")
        marker = json.loads(marker) if isinstance(marker, str) else marker
        if not marker or marker.get("scale") != scale or marker.get("seed") != seed:
            log(f"seeding {scale} demo data (seed {seed}) into {BENCH_DB} ...")
            pools = {"hub": db.pools["bigdata"],
                     **{d: db.pools[d] for d in ("commerce", "labor", "science", "education")}}
            await load_demo(pools, scale=scale, seed=seed)
            async with db.pools["labor"].acquire() as conn:
                await conn.execute("vacuum analyze")
        else:
            log(f"{BENCH_DB}: {scale} demo data (seed {seed}) already loaded")
        await _refresh_statistics(db, log)
        token_file = BENCH_DIR / "token.json"
        token = None
        if token_file.exists():
            token = json.loads(token_file.read_text()).get("token")
            if token and await db.hub.fetchrow("hub/consumer_by_token_hash", hash_token(token)) is None:
                token = None
        if token is None:
            _, token = await create_consumer(db.hub, CONSUMER_DEPARTMENT, CONSUMER_NAME)
            BENCH_DIR.mkdir(parents=True, exist_ok=True)
            token_file.write_text(json.dumps({"token": token, "database": BENCH_DB}))
            token_file.chmod(0o600)
        return token
    finally:
        await db.close()


async def _refresh_statistics(db, log) -> None:
    """Refresh the published statistics' summary tables when they are older than the demo data (or never
    refreshed), for the statistics operations. Skipped when the hub has no statistics (resolvers.analytics.statistics)."""
    try:
        from resolvers.analytics.statistics import refresh_statistics
    except ImportError:
        return
    async with db.pools["bigdata"].acquire() as conn:
        has_table = await conn.fetchval("select to_regclass('hub.stat_refreshes') is not null")
        if not has_table:
            return
        stale = await conn.fetchval(
            "select coalesce((select max(refreshed_at) from hub.stat_refreshes), '-infinity') "
            "< (select updated_at from hub.meta where key = 'demo_data')")
    if stale:
        log("refreshing the published statistics ...")
        await refresh_statistics(db)


def backend_pids(url: str) -> list[int]:
    """PIDs of the PostgreSQL backends connected to the bench database (the servers' pools), for CPU
    accounting; other databases on the same server (a test run beside the bench) are left out."""

    async def go() -> list[int]:
        conn = await asyncpg.connect(url)
        try:
            return [r[0] for r in await conn.fetch(
                "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()")]
        finally:
            await conn.close()

    try:
        return asyncio.run(go())
    except Exception:  # noqa: BLE001 - CPU accounting is best effort
        return []


def path_of(name: str) -> Path:
    return BENCH_DIR / name
