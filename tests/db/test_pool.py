"""Pooled connections go back to the pool without asyncpg's reset query (hub.db.pools.keep_session): one round
trip per statement, not two. Shown by what the server last ran on the connection (pg_stat_activity)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import asyncpg
import pytest

from hub import SQL_DIR
from hub.db.pools import Databases, SqlRegistry, generic_plan, is_key_lookup, optional_filters
from hub.settings import Settings, SettingsError


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



def _plans(settings, names: list[str], runs: list[tuple]) -> dict[str, list[tuple[int, int]]]:
    """Run each named statement through ``db.labor`` with each argument tuple of ``runs[i]`` 3 times; then, per
    statement, (generic_plans, custom_plans) of every connection that prepared it, from pg_prepared_statements."""
    async def go():
        db = await Databases(settings, settings.database_url).open()
        try:
            for name, args in zip(names, runs):
                for _ in range(3):
                    for a in args:
                        await db.labor.fetch(name, *a)
            found: dict[str, list[tuple[int, int]]] = {n: [] for n in names}
            for gauge in db.pool_gauges.values():
                await gauge.give_back()  # the kept connections (hub.db.pool_use): every connection is visited below
            pools = {id(g.pool): g.pool for g in db.pool_gauges.values()}.values()
            for pool in pools:
                for _ in range(pool.get_size()):
                    async with pool.acquire() as conn:
                        for name in names:
                            rows = await conn.fetch("select generic_plans, custom_plans from pg_prepared_statements "
                                                    "where statement = $1", db.registry[name])
                            found[name] += [(r["generic_plans"], r["custom_plans"]) for r in rows]
            return found
        finally:
            await db.close()

    return asyncio.run(go())


LOOKUP = "labor/occupations_by_code"
SEARCH = "labor/occupations_page"


def _search_args(settings, name: str | None = None) -> list[tuple]:
    """Runs of the page: ``name`` given (the name search, ``$4``), else every optional filter null."""
    count = max(int(n) for n in re.findall(r"\$(\d+)", (SQL_DIR / "queries" / f"{SEARCH}.sql").read_text()))
    args = [0, 20] + [None] * (count - 2)
    if name is not None:
        args[3] = name
    return [tuple(args)]


def test_key_lookups_are_planned_once_per_connection_other_statements_per_run(settings) -> None:
    """HUB_GENERIC_LOOKUPS (default): a batch lookup (only parameter: the array of keys) and a page run with every
    optional filter null run on the lookup pool, whose connections plan them once (generic); a page given a filter,
    e.g. a name search, keeps PostgreSQL's choice (a custom plan per run, which can use an index for the values
    given)."""
    keys = [(["2-02-10-02"],), (["4-01-02-01", "2-02-10-02"],), (["x"],)]
    plans = _plans(settings, [LOOKUP, SEARCH], [keys, _search_args(settings)])
    assert plans[LOOKUP] and all(custom == 0 for _, custom in plans[LOOKUP]), plans
    assert sum(generic for generic, _ in plans[LOOKUP]) == 9
    assert plans[SEARCH] and all(custom == 0 for _, custom in plans[SEARCH]), plans
    assert sum(generic for generic, _ in plans[SEARCH]) == 3
    searched = _plans(settings, [SEARCH], [_search_args(settings, "%技术%")])
    assert searched[SEARCH] and all(generic == 0 for generic, _ in searched[SEARCH]), searched


def test_without_generic_lookups_postgresql_re_plans_the_lookups(settings) -> None:
    keys = [(["2-02-10-02"],), (["4-01-02-01", "2-02-10-02"],), (["x"],)]
    plans = _plans(replace(settings, generic_lookups=False), [LOOKUP], [keys])
    assert plans[LOOKUP] and sum(custom for _, custom in plans[LOOKUP]) >= 5, plans


def test_which_statements_are_key_lookups() -> None:
    assert is_key_lookup("select * from t where code = any($1::text[])")
    assert is_key_lookup("select p.* from unnest($1::bigint[]) k(id) join t p on p.id = k.id")
    assert not is_key_lookup("select * from t where code = any($1::text[]) and district = $2")
    assert not is_key_lookup("select * from t where code = $1")  # not an array of keys
    assert not is_key_lookup("select * from t where id > $1 and ($3::text is null or name ilike $3) limit $2")
    assert not is_key_lookup("insert into t select * from unnest($1::text[])")
    registry = SqlRegistry()
    lookups = {n for n in registry.names() if is_key_lookup(registry[n])}
    assert {"commerce/enterprises_by_uscc", "labor/occupations_by_code", "education/majors_by_school"} <= lookups
    assert not {"labor/occupations_page", "labor/seekers_page", "labor/postings_by_occupation"} & lookups


def test_which_statements_are_pages_with_optional_filters() -> None:
    page = "select * from t where id > $1 and ({}) order by id limit $2"
    assert optional_filters(page.format("$3::text is null or name ilike $3")) == (3,)
    assert optional_filters(page.format("$3::text is null or a = $3 or b = $3) and ($4::date is null or d >= $4")) \
        == (3, 4)
    assert optional_filters("select * from t where id > $1 order by id limit $2") == ()
    assert optional_filters(page.format("$3::text is null or lower(name) = $3")) is None  # not the plain form
    assert optional_filters(page.format("name = $3")) is None  # a required filter
    assert optional_filters("select * from t where code = any($1::text[])") is None  # no limit $2
    assert optional_filters("delete from t where id > $1 limit $2") is None
    registry = SqlRegistry()
    pages = {n for n in registry.names() if optional_filters(registry[n]) is not None}
    assert {"labor/postings_page", "labor/occupations_page", "commerce/enterprises_page"} <= pages
    assert not {"labor/postings_by_occupation", "commerce/enterprises_by_uscc"} & pages
    # a run is generic only with every optional filter null
    assert generic_plan(registry["labor/occupations_page"], (0, 20, None, None, None))
    assert not generic_plan(registry["labor/occupations_page"], (0, 20, None, "%a%", None))


def test_generic_lookups_setting() -> None:
    assert Settings.from_env({}).generic_lookups is True
    assert Settings.from_env({"HUB_GENERIC_LOOKUPS": "false"}).generic_lookups is False
    with pytest.raises(SettingsError, match="HUB_GENERIC_LOOKUPS"):
        Settings.from_env({"HUB_GENERIC_LOOKUPS": "sometimes"})
