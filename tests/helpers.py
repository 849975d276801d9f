"""Small helpers for tests that compare GraphQL answers with the database."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


def sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


def sql_value(url: str, query: str, *args: Any) -> Any:
    rows = sql(url, query, *args)
    return rows[0][0] if rows else None
