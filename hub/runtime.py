"""Start-up plumbing shared by the CLI and the tests: which database, create it, migrate it."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from typing import Iterator

import asyncpg

from hub import migrate
from hub.embedded import EmbeddedPostgres
from hub.errors import SetupError
from hub.settings import DEPARTMENTS, Settings

log = logging.getLogger("hub.runtime")


async def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` on the server of ``admin_url`` if it does not exist."""
    conn = await asyncpg.connect(admin_url)
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
    import asyncio

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
        try:
            conn = await asyncpg.connect(url)
        except (OSError, asyncpg.PostgresError) as exc:
            raise SetupError(f"cannot connect to the database: {exc}") from exc
        try:
            applied[url] = await migrate.migrate(conn)
        finally:
            await conn.close()
    return applied


async def status_all(settings: Settings) -> dict[str, list[migrate.MigrationState]]:
    states = {}
    for url in distinct_urls(settings):
        conn = await asyncpg.connect(url)
        try:
            states[url] = await migrate.status(conn)
        finally:
            await conn.close()
    return states


def redact(url: str) -> str:
    """A URL safe to print: the password is hidden."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds and creds.split(":", 1)[1] else f"{scheme}://{user}@{host}"
