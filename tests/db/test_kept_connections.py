"""Connections kept between statements (hub.db.pool_use.PoolGauge): reused without asyncpg's acquire/release, never
kept after a failure, a cancellation or an open transaction, found closed and replaced, at most half of the pool,
and all given back before the pools close."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import asyncpg
import pytest

from hub.db import pool_use
from hub.db.pools import Databases, SqlRegistry
from hub.errors import HubError

LOOKUP = "labor/occupations_by_code"
PID = "test/kept_backend_pid"
SLEEP = "test/kept_sleep"
BEGIN = "test/kept_begin"
FAIL = "test/kept_division_by_zero"


@pytest.fixture(autouse=True)
def statements():
    # Generated statements (the registry's own way to hold SQL that is not a file), named for these tests.
    SqlRegistry.generated[PID] = "select pg_backend_pid() as pid, $1::int as n"
    SqlRegistry.generated[SLEEP] = "select pg_sleep($1::float8)"
    SqlRegistry.generated[BEGIN] = "begin"
    SqlRegistry.generated[FAIL] = "select 1 / $1::int"
    yield
    for name in (PID, SLEEP, BEGIN, FAIL):
        SqlRegistry.generated.pop(name, None)


@pytest.fixture
def keep_long(monkeypatch):
    """Kept connections stay kept during the test (not given back every KEEP_SECONDS), however slow the machine."""
    monkeypatch.setattr(pool_use, "KEEP_SECONDS", 60.0)


def _run(settings, body, **changes):
    async def go():
        db = await Databases(replace(settings, generic_lookups=False, **changes), settings.database_url).open()
        try:
            return await body(db, db.pool_gauges[db.departments["labor"].pool_name])
        finally:
            await asyncio.wait_for(db.close(), 10)  # kept connections must not hold the close up

    return asyncio.run(go())


async def _pid(db) -> int:
    return (await db.labor.fetch(PID, 1))[0]["pid"]


def test_a_statement_keeps_its_connection_for_the_next_one(settings) -> None:
    async def body(db, gauge):
        first = await _pid(db)
        kept = list(gauge.kept)
        idle_in_pool = gauge.pool.get_idle_size()
        second = await _pid(db)
        return first, second, len(kept), idle_in_pool, gauge.idle, gauge.pool.get_size()

    first, second, kept, idle_in_pool, idle, size = _run(settings, body, pool_min_size=2, pool_max_size=4)
    assert kept == 1 and first == second  # the same connection, taken from the kept ones
    assert idle == size  # nothing runs: the kept connection counts as idle (metrics' in_use = size - idle)
    assert idle_in_pool == size - 1  # asyncpg sees it in use


def test_failed_cancelled_and_transaction_statements_give_their_connection_back(settings) -> None:
    async def body(db, gauge):
        out = {}
        with pytest.raises((HubError, asyncpg.PostgresError)):
            await db.labor.fetch(FAIL, 0)
        out["after error"] = len(gauge.kept)
        task = asyncio.ensure_future(db.labor.fetch(SLEEP, 5))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        out["after cancel"] = len(gauge.kept)
        await db.labor.execute(BEGIN)
        out["after begin"] = len(gauge.kept)
        # every connection is usable and none is left inside a transaction
        async with gauge.pool.acquire() as conn:
            out["in transaction"] = conn.is_in_transaction()
        out["works"] = len(await db.labor.fetch(LOOKUP, ["2-02-10-02"]))
        return out

    out = _run(settings, body, pool_min_size=1, pool_max_size=4)
    assert out == {"after error": 0, "after cancel": 0, "after begin": 0, "in transaction": False, "works": 1}


def test_a_kept_connection_the_server_closed_is_replaced(settings, keep_long) -> None:
    async def body(db, gauge):
        pid = await _pid(db)
        assert len(gauge.kept) == 1
        killer = await asyncpg.connect(settings.database_url)
        try:
            assert await killer.fetchval("select pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        for _ in range(50):  # until the client has seen the socket close
            try:
                if gauge.kept[0].is_closed():
                    break
            except asyncpg.InterfaceError:  # closed and given back to the pool by asyncpg
                break
            await asyncio.sleep(0.02)
        return pid, await _pid(db)

    before, after = _run(settings, body, pool_min_size=1, pool_max_size=4)
    assert after != before  # answered on a new connection, not failed on the closed one


def test_at_most_half_of_the_pool_is_kept_and_the_rest_serves_others(settings, keep_long) -> None:
    async def body(db, gauge):
        await asyncio.gather(*[db.labor.fetch(SLEEP, 0.2) for _ in range(4)])
        kept = len(gauge.kept)
        # the pool's other users (a transaction here) still get a connection at once
        async with db.labor.transaction() as tx:
            value = await tx.fetch(PID, 7)
        return kept, gauge.keep, value[0]["n"]

    kept, keep, n = _run(settings, body, pool_min_size=1, pool_max_size=4, pool_acquire_timeout_ms=1000)
    assert keep == 2 and kept == 2 and n == 7


def test_closing_gives_kept_connections_back_even_while_statements_run(settings) -> None:
    async def go():
        db = await Databases(replace(settings, generic_lookups=False, pool_max_size=4), settings.database_url).open()
        gauge = db.pool_gauges[db.departments["labor"].pool_name]
        await _pid(db)
        running = asyncio.ensure_future(db.labor.fetch(SLEEP, 0.3))
        await asyncio.sleep(0.05)
        await asyncio.wait_for(db.close(), 10)  # waits for the running statement, whose connection is not kept
        await running
        return gauge.kept

    assert asyncio.run(go()) == []


def test_idle_kept_connections_go_back_to_the_pools_other_users(settings) -> None:
    async def body(db, gauge):
        await asyncio.gather(*[db.labor.fetch(SLEEP, 0.2) for _ in range(4)])
        kept = len(gauge.kept)
        # Two long users of the pool (sync snapshots, say) hold the rest of it; no statement runs from now on.
        held = [await gauge.pool.acquire(timeout=1) for _ in range(2)]
        try:
            async with db.labor.transaction() as tx:  # waits at most pool_acquire_timeout_ms for a connection
                value = await tx.fetch(PID, 7)
            ready = await asyncio.wait_for(gauge.pool.fetchval("select 1"), 2)  # /readyz's way: pool.acquire
        finally:
            for conn in held:
                await gauge.pool.release(conn)
        return kept, value[0]["n"], ready

    # kept: 2 idle connections that only statements could use, while a transaction found the pool full (the pool's
    # 4 connections open from the start: the 4 statements end together, well within KEEP_SECONDS)
    assert _run(settings, body, pool_min_size=4, pool_max_size=4, pool_acquire_timeout_ms=1500) == (2, 7, 1)


def test_a_kept_connection_the_server_closed_is_not_counted_idle(settings, keep_long) -> None:
    async def body(db, gauge):
        pid = await _pid(db)
        killer = await asyncpg.connect(settings.database_url)
        try:
            assert await killer.fetchval("select pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        for _ in range(40):  # until asyncpg has seen the socket close (and given the holder back)
            try:
                gauge.kept[0].is_closed()
            except asyncpg.InterfaceError:
                break
            await asyncio.sleep(0.005)
        return gauge.pool.get_size(), gauge.idle, len(gauge.kept)

    size, idle, kept = _run(settings, body, pool_min_size=0, pool_max_size=4)
    assert kept == 1  # still in the list (until the next statement or the periodic give-back)
    assert idle <= size  # else the metrics' in_use (size - idle, clamped at 0) misses running statements


def test_a_kept_connection_that_cannot_go_back_is_closed_and_the_rest_still_go_back(settings, keep_long,
                                                                                     monkeypatch) -> None:
    """A release that fails (e.g. the close of a connection at asyncpg's max_queries, on a broken network): that
    connection is closed, the others still go back, and the pool can still be closed and used."""
    release, calls = asyncpg.Pool.release, []

    async def failing_first(pool, conn, *args, **kwargs):
        calls.append(conn)
        if len(calls) == 1:
            raise OSError("the network went away while closing")
        return await release(pool, conn, *args, **kwargs)

    async def body(db, gauge):
        await asyncio.gather(*[db.labor.fetch(SLEEP, 0.2) for _ in range(4)])
        assert len(gauge.kept) == 2
        with monkeypatch.context() as patched:
            patched.setattr(asyncpg.Pool, "release", failing_first)
            await gauge.give_back()
        in_use = gauge.pool.get_size() - gauge.pool.get_idle_size()
        works = len(await db.labor.fetch(LOOKUP, ["2-02-10-02"]))
        return len(calls), in_use, works

    calls_made, in_use, works = _run(settings, body, pool_min_size=4, pool_max_size=4)
    assert calls_made == 2 and in_use == 0 and works == 1  # nothing left checked out; close (in _run) does not hang
