"""The tracing benchmark's database: recreated with the small demo data on the embedded server (or on
DATABASE_URL's server), dropped afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import replace
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from hub.settings import Settings


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def _prepare(admin_url: str, name: str) -> str:
    """Fresh database ``name``: migrated, small demo data, demo consumers; returns the labor token."""
    from hub.consumers import create_demo_consumers
    from hub.db import Databases
    from hub.runtime import migrate_all
    from hub.seed import load_demo

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    settings = replace(Settings.from_env({}), database_url=_with_database(admin_url, name))
    await migrate_all(settings)
    db = await Databases(settings, settings.database_url).open()
    try:
        pools = {"hub": db.pools["bigdata"], **{d: db.pools[d] for d in ("commerce", "labor", "science", "education")}}
        await load_demo(pools, scale="small", seed=42)
        tokens = await create_demo_consumers(db.hub)
    finally:
        await db.close()
    return tokens["labor"]


async def _drop(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()


@contextlib.contextmanager
def bench_database(name: str) -> Iterator[tuple[str, str]]:
    """(URL, labor consumer's token) of a fresh bench database; dropped on exit."""
    external = os.environ.get("DATABASE_URL")
    pg = None
    if external:
        admin = _with_database(external, "postgres")
    else:
        from hub.embedded import EmbeddedPostgres

        pg = EmbeddedPostgres(Settings.from_env({}).data_dir).start()
        admin = pg.admin_url()
    try:
        token = asyncio.run(_prepare(admin, name))
        try:
            yield _with_database(admin, name), token
        finally:
            asyncio.run(_drop(admin, name))
    finally:
        if pg is not None:
            pg.stop()
