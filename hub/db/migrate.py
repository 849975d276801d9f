"""A small forward-only migration runner on asyncpg.

Hand-written on purpose: the usual tools (alembic, yoyo, dbmate) bring an ORM, a sync driver or a
Go binary; the hub needs only "apply ``sql/migrations/NNNN_name.sql`` in order, each in its own
transaction, record its checksum, refuse a changed applied file". A session-level advisory lock
keeps two hubs from migrating the same database at once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from hub import SQL_DIR
from hub.errors import MigrationError

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x7A1E_17DA  # advisory lock id for migrations

_BOOTSTRAP = """
create schema if not exists hub;
create table if not exists hub.schema_migrations (
    version integer primary key,
    name text not null,
    checksum text not null,
    applied_at timestamptz not null default now()
);
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class MigrationState:
    migration: Migration
    applied: bool
    applied_at: object | None = None


def discover(directory: Path = SQL_DIR / "migrations") -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path, path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version number")
    return found


async def _applied(conn: asyncpg.Connection) -> dict[int, asyncpg.Record]:
    exists = await conn.fetchval("select to_regclass('hub.schema_migrations') is not null")
    if not exists:
        return {}
    rows = await conn.fetch("select version, name, checksum, applied_at from hub.schema_migrations")
    return {r["version"]: r for r in rows}


def _check_unchanged(migrations: list[Migration], applied: dict[int, asyncpg.Record]) -> None:
    known = {m.version: m for m in migrations}
    for version, row in sorted(applied.items()):
        m = known.get(version)
        if m is None:
            raise MigrationError(
                f"migration {version:04d}_{row['name']} is applied in the database but its file is missing")
        if m.checksum != row["checksum"]:
            raise MigrationError(
                f"migration {m.path.name} was changed after it was applied "
                f"(checksum {row['checksum'][:12]} in the database, {m.checksum[:12]} on disk); "
                "migrations are forward-only: add a new file instead")


async def status(conn: asyncpg.Connection, directory: Path = SQL_DIR / "migrations") -> list[MigrationState]:
    migrations = discover(directory)
    applied = await _applied(conn)
    _check_unchanged(migrations, applied)
    states = []
    for m in migrations:
        row = applied.get(m.version)
        states.append(MigrationState(m, row is not None, row["applied_at"] if row is not None else None))
    return states


async def pending(conn: asyncpg.Connection, directory: Path = SQL_DIR / "migrations") -> list[Migration]:
    return [s.migration for s in await status(conn, directory) if not s.applied]


async def migrate(conn: asyncpg.Connection, directory: Path = SQL_DIR / "migrations") -> list[Migration]:
    """Apply every pending migration, each in its own transaction. Returns those applied."""
    migrations = discover(directory)
    await conn.execute("select pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(_BOOTSTRAP)
        applied = await _applied(conn)
        _check_unchanged(migrations, applied)
        done: list[Migration] = []
        for m in migrations:
            if m.version in applied:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(
                        "insert into hub.schema_migrations (version, name, checksum) values ($1, $2, $3)",
                        m.version, m.name, m.checksum)
            except asyncpg.PostgresError as exc:
                raise MigrationError(f"migration {m.path.name} failed: {exc}") from exc
            done.append(m)
        return done
    finally:
        await conn.execute("select pg_advisory_unlock($1)", _LOCK_KEY)
