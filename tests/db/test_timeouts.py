"""Statement timeouts: PostgreSQL itself cancels the statement (statement_timeout, SQLSTATE 57014), the hub
answers LIMIT_EXCEEDED, and the connection goes back to the pool healthy — nothing keeps running."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import asyncpg
import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.db.pools import Databases, SqlRegistry
from hub.errors import LimitExceeded

TIMEOUT_MS = 200


def _registry(tmp_path) -> SqlRegistry:
    root = tmp_path / "queries"
    (root / "t").mkdir(parents=True)
    (root / "t" / "sleep.sql").write_text("-- sleeps far longer than the statement timeout\nselect pg_sleep(10)\n")
    (root / "t" / "backend.sql").write_text("select pg_backend_pid()\n")
    return SqlRegistry(root)


def test_statement_timeout_is_cancelled_in_postgres(settings, server_url, tmp_path) -> None:
    async def go() -> None:
        tiny = replace(settings, statement_timeout_ms=TIMEOUT_MS, pool_min_size=1, pool_max_size=1)
        db = await Databases(tiny, settings.database_url).open()
        admin = await asyncpg.connect(settings.database_url)
        try:
            labor = db.labor
            labor.sql = _registry(tmp_path)
            backend = await labor.fetchval("t/backend")
            started = time.monotonic()
            with pytest.raises(LimitExceeded) as raised:
                await labor.fetchval("t/sleep")
            elapsed = time.monotonic() - started
            assert elapsed < 2.0, f"the statement ran {elapsed:.1f} s"
            cause = raised.value.__cause__
            assert isinstance(cause, asyncpg.exceptions.QueryCanceledError) and cause.sqlstate == "57014"
            assert "statement timeout" in str(cause)  # PostgreSQL's own cancel, not a client-side abandon
            # The one connection of the pool is back, healthy, on the same backend.
            assert await labor.fetchval("t/backend") == backend
            activity = await admin.fetchrow("select state, query from pg_stat_activity where pid = $1", backend)
            assert activity["state"] == "idle" and "pg_sleep" not in activity["query"]
            sleeping = await admin.fetchval("select count(*) from pg_stat_activity where state = 'active' "
                                            "and query like '%pg_sleep(10)%' and pid <> pg_backend_pid()")
            assert sleeping == 0
        finally:
            await admin.close()
            await db.close()

    asyncio.run(go())


def test_graphql_statement_timeout_is_limit_exceeded(scratch) -> None:
    """A jobSeekers page that would run for as long as a lock is held: cancelled by PostgreSQL after the
    statement timeout, answered LIMIT_EXCEEDED at its path; the next request is served normally."""
    settings, tokens = scratch
    slow = replace(settings, statement_timeout_ms=TIMEOUT_MS, pool_min_size=1, pool_max_size=2)
    query = {"query": "{ jobSeekers(first: 3) { nodes { name } } industries(first: 1) { nodes { code } } }"}
    headers = {"Authorization": f"Bearer {tokens['labor']}"}

    async def lock() -> asyncpg.Connection:
        conn = await asyncpg.connect(settings.database_url)
        await conn.execute("begin; lock table labor.job_seekers in access exclusive mode")
        return conn

    async def release(conn: asyncpg.Connection) -> int:
        waiting = await conn.fetchval("select count(*) from pg_stat_activity where application_name = "
                                      "'talent-data-hub' and wait_event_type = 'Lock'")
        await conn.execute("rollback")
        await conn.close()
        return waiting

    with TestClient(create_app(slow)) as client:
        loop = asyncio.new_event_loop()
        try:
            holder = loop.run_until_complete(lock())
            started = time.monotonic()
            response = client.post("/graphql", json=query, headers=headers)
            elapsed = time.monotonic() - started
            waiting = loop.run_until_complete(release(holder))
        finally:
            loop.close()
        assert elapsed < 3.0, f"answered after {elapsed:.1f} s"
        assert waiting == 0, "a cancelled statement is still waiting in PostgreSQL"
        body = response.json()
        assert response.status_code == 200, body
        errors = body["errors"]
        assert [(e["path"], e["extensions"]["code"]) for e in errors] == [(["jobSeekers"], "LIMIT_EXCEEDED")]
        assert errors[0]["extensions"]["limit"] == "statementTimeout"
        assert body["data"]["industries"]["nodes"] and body["data"]["jobSeekers"] is None
        again = client.post("/graphql", json=query, headers=headers)
        assert again.status_code == 200 and "errors" not in again.json()
        assert again.json()["data"]["jobSeekers"]["nodes"]
