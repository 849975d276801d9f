"""Start-up plumbing shared by the CLI and the tests: which database, create it, migrate it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import replace
from typing import Any, Iterator

import asyncpg

from hub.db import migrate
from hub.db.embedded import EmbeddedPostgres
from hub.departments import NAMES as DEPARTMENTS
from hub.errors import SetupError
from hub.problems import database_problem
from hub.settings import Settings

log = logging.getLogger("hub.runtime")


def url_setting(settings: Settings, url: str) -> str:
    """The setting a person changes to fix a connection to ``url``."""
    for dept, dept_url in settings.department_urls.items():
        if dept_url == url:
            return f"HUB_{dept.upper()}_DATABASE_URL"
    if os.environ.get("DATABASE_URL"):
        return "DATABASE_URL"
    return "DATABASE_URL (unset: the embedded PostgreSQL under HUB_DATA_DIR)"


async def connect(url: str, setting: str = "DATABASE_URL", **kwargs: Any) -> asyncpg.Connection:
    """``asyncpg.connect(url)``; a failure is a SetupError naming the target, the cause and ``setting``."""
    try:
        return await asyncpg.connect(url, **kwargs)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError,
            OverflowError) as exc:
        raise SetupError(database_problem(url, exc, setting)) from exc


async def check_databases(settings: Settings) -> None:
    """Connect once to every distinct database (``hub serve`` does this before it says it is serving)."""
    for url in distinct_urls(settings):
        conn = await connect(url, url_setting(settings, url), timeout=settings.db_connect_timeout_ms / 1000)
        await conn.close()


async def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` on the server of ``admin_url`` if it does not exist."""
    conn = await connect(admin_url, "HUB_DATA_DIR (the embedded PostgreSQL)")
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", name)
        if not exists:
            await conn.execute(f'create database "{name}"')
    except asyncpg.DuplicateDatabaseError:
        pass
    finally:
        await conn.close()


@contextlib.contextmanager
def resolved(settings: Settings) -> Iterator[Settings]:
    """Settings with ``database_url`` set: DATABASE_URL as given, or the embedded server (started here,
    stopped on exit unless another process still holds it)."""
    if settings.database_url is not None:
        yield settings
        return

    pg = EmbeddedPostgres(settings.data_dir).start()
    try:
        asyncio.run(ensure_database(pg.admin_url(), settings.database_name))
        yield replace(settings, database_url=pg.admin_url(settings.database_name))
    finally:
        pg.stop()


def distinct_urls(settings: Settings) -> list[str]:
    assert settings.database_url is not None
    return sorted({settings.url_for(d, settings.database_url) for d in DEPARTMENTS})


async def migrate_all(settings: Settings) -> dict[str, list[migrate.Migration]]:
    """Apply pending migrations on every distinct department database."""
    applied = {}
    for url in distinct_urls(settings):
        conn = await connect(url, url_setting(settings, url))
        try:
            applied[url] = await migrate.migrate(conn)
        finally:
            await conn.close()
    return applied


async def status_all(settings: Settings) -> dict[str, list[migrate.MigrationState]]:
    states = {}
    for url in distinct_urls(settings):
        conn = await connect(url, url_setting(settings, url))
        try:
            states[url] = await migrate.status(conn)
        finally:
            await conn.close()
    return states
