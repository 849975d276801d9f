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


def _plans_of_a_batch_lookup(settings) -> tuple[str, list[tuple[int, int]]]:
    """Run a batch lookup 8 times on one pooled connection; that connection's plan_cache_mode and its prepared
    statements' (generic_plans, custom_plans) for the lookup."""
    async def go():
        db = await Databases(settings, settings.database_url).open()
        try:
            pool = db.pools["labor"]
            async with pool.acquire() as conn:
                sql = db.registry["labor/occupations_by_code"]
                for keys in (["2-02-10-02"], ["4-01-02-01", "2-02-10-02"], ["x"]) * 3:
                    await conn.fetch(sql, keys)
                mode = await conn.fetchval("show plan_cache_mode")
                plans = await conn.fetch("select generic_plans, custom_plans from pg_prepared_statements "
                                         "where statement = $1", sql)
            return mode, [(r["generic_plans"], r["custom_plans"]) for r in plans]
        finally:
            await db.close()

    return asyncio.run(go())


def test_batch_lookups_are_planned_once_per_connection_by_default(settings) -> None:
    """HUB_PLAN_CACHE_MODE (default force_generic_plan): PostgreSQL plans a prepared batch lookup once, instead
    of re-planning it on every run because a generic plan cannot know the array's length."""
    mode, plans = _plans_of_a_batch_lookup(settings)
    assert mode == "force_generic_plan"
    assert plans and all(custom == 0 and generic == 9 for generic, custom in plans), plans


def test_plan_cache_mode_auto_lets_postgresql_re_plan(settings) -> None:
    from dataclasses import replace

    mode, plans = _plans_of_a_batch_lookup(replace(settings, plan_cache_mode="auto"))
    assert mode == "auto"
    assert plans and all(custom >= 5 for _, custom in plans), plans


def test_an_unknown_plan_cache_mode_is_a_settings_error() -> None:
    import pytest

    from hub.settings import Settings, SettingsError

    assert Settings.from_env({}).plan_cache_mode == "force_generic_plan"
    assert Settings.from_env({"HUB_PLAN_CACHE_MODE": "auto"}).plan_cache_mode == "auto"
    with pytest.raises(SettingsError, match="HUB_PLAN_CACHE_MODE must be one of"):
        Settings.from_env({"HUB_PLAN_CACHE_MODE": "generic"})
