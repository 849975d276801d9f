"""Pooled connections go back to the pool without asyncpg's reset query (hub.db.pools.keep_session): one round
trip per statement, not two. Shown by what the server last ran on the connection (pg_stat_activity)."""

from __future__ import annotations

import asyncio

import asyncpg

from hub.db.pools import Databases


def test_a_released_connection_last_ran_the_statement_not_a_reset(settings) -> None:
    async def go():
        db = await Databases(settings, settings.database_url).open()
        try:
            pool = db.pools["labor"]
            async with pool.acquire() as conn:
                pid = await conn.fetchval("select pg_backend_pid()")
            # the next statement on the pool runs on the same (only idle) connection or another one: check
            # the connection we used, which is idle in the pool now
            await db.labor.fetch("labor/occupations_by_code", ["2-02-10-02"])
            observer = await asyncpg.connect(settings.database_url)
            try:
                rows = await observer.fetch(
                    "select pid, state, query from pg_stat_activity where application_name = 'talent-data-hub'")
            finally:
                await observer.close()
            # other apps of the test run may be running a statement right now ('active'); what must never be
            # is a pooled connection left 'idle in transaction'
            in_tx = [r for r in rows if (r["state"] or "").startswith("idle in transaction")]
            return pid, {r["pid"]: r["query"] for r in rows}, in_tx
        finally:
            await db.close()

    pid, last_queries, in_tx = asyncio.run(go())
    assert pid in last_queries
    assert not any("pg_advisory_unlock_all" in q or "RESET ALL" in q for q in last_queries.values()), last_queries
    assert any("labor.occupations" in q for q in last_queries.values())
    assert not in_tx, "a pooled connection was left inside a transaction"
