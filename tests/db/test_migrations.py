"""The forward-only migration runner on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from hub import SQL_DIR
from hub.db import migrate
from hub.errors import MigrationError
from tests.support.database import recreate_database, with_database


def run(coro):
    return asyncio.run(coro)


async def _with_conn(url: str, fn):
    conn = await asyncpg.connect(url)
    try:
        return await fn(conn)
    finally:
        await conn.close()


@pytest.fixture()
def scratch_url(server_url: str) -> str:
    run(recreate_database(server_url, "hub_test_migrations"))
    return with_database(server_url, "hub_test_migrations")


def test_applies_all_then_nothing(scratch_url: str) -> None:
    files = sorted(p.name for p in (SQL_DIR / "migrations").glob("*.sql"))
    first = run(_with_conn(scratch_url, migrate.migrate))
    assert [m.path.name for m in first] == files
    assert run(_with_conn(scratch_url, migrate.migrate)) == []
    states = run(_with_conn(scratch_url, migrate.status))
    assert all(s.applied for s in states) and len(states) == len(files)
    rows = run(_with_conn(scratch_url, lambda c: c.fetch("select version, checksum from hub.schema_migrations")))
    assert {r["version"] for r in rows} == {m.version for m in migrate.discover()}
    assert all(len(r["checksum"]) == 64 for r in rows)


def test_changed_applied_migration_is_refused(scratch_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(SQL_DIR / "migrations", folder)
    run(_with_conn(scratch_url, lambda c: migrate.migrate(c, folder)))
    target = folder / "0003_labor.sql"
    target.write_text(target.read_text() + "\n-- edited after it was applied\n")
    with pytest.raises(MigrationError, match="0003_labor.sql was changed after it was applied"):
        run(_with_conn(scratch_url, lambda c: migrate.migrate(c, folder)))
    with pytest.raises(MigrationError, match="0003_labor.sql"):
        run(_with_conn(scratch_url, lambda c: migrate.status(c, folder)))


def test_failed_migration_rolls_back_alone(scratch_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(SQL_DIR / "migrations", folder)
    (folder / "9998_good.sql").write_text("create table hub.good_one (x int);")
    (folder / "9999_bad.sql").write_text("create table hub.half_done (x int);\nselect no_such_function();")
    with pytest.raises(MigrationError, match="9999_bad.sql failed"):
        run(_with_conn(scratch_url, lambda c: migrate.migrate(c, folder)))

    async def check(conn):
        good = await conn.fetchval("select to_regclass('hub.good_one') is not null")
        half = await conn.fetchval("select to_regclass('hub.half_done') is not null")
        versions = {r[0] for r in await conn.fetch("select version from hub.schema_migrations")}
        return good, half, versions

    good, half, versions = run(_with_conn(scratch_url, check))
    assert good and not half
    assert 9998 in versions and 9999 not in versions


def test_badly_named_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_oops.sql").write_text("select 1;")
    with pytest.raises(MigrationError, match="1_oops.sql is not named NNNN_name.sql"):
        migrate.discover(tmp_path)
