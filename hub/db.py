"""Database access: one asyncpg pool per department (shared when the URLs are equal) and the SQL registry.

Every statement the hub runs is a file ``sql/queries/<dept>/<name>.sql`` (one statement per file,
with a short header comment that is stripped before execution, so traces name the statement itself).
Departments are reached only through their own pool: ``db.labor.fetch("labor/postings_by_occupation", ...)``.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

import asyncpg

from hub import SQL_DIR
from hub.errors import from_db_error
from hub.settings import DEPARTMENTS, Settings

_HEADER = re.compile(r"\A(?:\s*--[^\n]*\n)+")


def strip_header(text: str) -> str:
    """Remove leading ``--`` comment lines and surrounding whitespace."""
    return _HEADER.sub("", text).strip().rstrip(";").strip()


class SqlRegistry:
    """All named SQL statements under ``sql/queries``, loaded once."""

    def __init__(self, root: Path = SQL_DIR / "queries"):
        self.root = root
        self._sql: dict[str, str] = {}
        for path in sorted(root.rglob("*.sql")):
            name = path.relative_to(root).with_suffix("").as_posix()
            self._sql[name] = strip_header(path.read_text(encoding="utf-8"))

    def __getitem__(self, name: str) -> str:
        try:
            return self._sql[name]
        except KeyError:
            raise KeyError(f"no SQL file sql/queries/{name}.sql") from None

    def __contains__(self, name: str) -> bool:
        return name in self._sql

    def names(self) -> list[str]:
        return sorted(self._sql)


@dataclass
class Stats:
    """Counters of executed statements (tests pin the number of statements of a query)."""

    statements: int = 0
    by_name: dict[str, int] = field(default_factory=dict)

    def count(self, name: str) -> None:
        self.statements += 1
        self.by_name[name] = self.by_name.get(name, 0) + 1


class Department:
    """One department's access point: its pool (or one connection, in a transaction) plus the named
    statements."""

    def __init__(self, name: str, pool: asyncpg.Pool | asyncpg.Connection, registry: SqlRegistry, stats: Stats):
        self.name = name
        self.pool = pool
        self.sql = registry
        self.stats = stats

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator["Department"]:
        """The same API on one connection inside a transaction (committed when the block exits)."""
        try:
            async with self.pool.acquire() as conn:
                async with conn.transaction():
                    yield Department(self.name, conn, self.sql, self.stats)
        except Exception as exc:
            mapped = from_db_error(exc)
            if mapped is None:
                raise
            raise mapped from exc

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        sql = self.sql[query]
        self.stats.count(query)
        try:
            return await self.pool.fetch(sql, *args)
        except Exception as exc:  # mapped to the domain tree in one place
            mapped = from_db_error(exc)
            if mapped is None:
                raise
            raise mapped from exc

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        rows = await self.fetch(query, *args)
        return rows[0] if rows else None

    async def fetchval(self, query: str, *args: Any) -> Any:
        row = await self.fetchrow(query, *args)
        return None if row is None else row[0]

    async def execute(self, query: str, *args: Any) -> str:
        sql = self.sql[query]
        self.stats.count(query)
        try:
            return await self.pool.execute(sql, *args)
        except Exception as exc:
            mapped = from_db_error(exc)
            if mapped is None:
                raise
            raise mapped from exc


class Databases:
    """The department pools. Created and closed by the app's lifespan (or a CLI command)."""

    def __init__(self, settings: Settings, default_url: str):
        self.settings = settings
        self.default_url = default_url
        self.registry = SqlRegistry()
        self.stats = Stats()
        self.pools: dict[str, asyncpg.Pool] = {}
        self.departments: dict[str, Department] = {}

    def url_of(self, dept: str) -> str:
        return self.settings.url_for(dept, self.default_url)

    def distinct_urls(self) -> list[str]:
        return sorted({self.url_of(d) for d in DEPARTMENTS})

    async def open(self) -> "Databases":
        by_url: dict[str, asyncpg.Pool] = {}
        server_settings = {
            "application_name": "talent-data-hub",
            "statement_timeout": str(self.settings.statement_timeout_ms),
            "jit": "off",
        }
        try:
            for dept in DEPARTMENTS:
                url = self.url_of(dept)
                if url not in by_url:
                    by_url[url] = await asyncpg.create_pool(
                        url,
                        min_size=self.settings.pool_min_size,
                        max_size=self.settings.pool_max_size,
                        server_settings=server_settings,
                    )
                self.pools[dept] = by_url[url]
                self.departments[dept] = Department(dept, by_url[url], self.registry, self.stats)
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        for pool in {id(p): p for p in self.pools.values()}.values():
            await pool.close()
        self.pools.clear()
        self.departments.clear()

    @property
    def commerce(self) -> Department:
        return self.departments["commerce"]

    @property
    def labor(self) -> Department:
        return self.departments["labor"]

    @property
    def science(self) -> Department:
        return self.departments["science"]

    @property
    def education(self) -> Department:
        return self.departments["education"]

    @property
    def hub(self) -> Department:
        return self.departments["bigdata"]

    async def ping(self) -> None:
        for pool in {id(p): p for p in self.pools.values()}.values():
            await pool.fetchval("select 1")
