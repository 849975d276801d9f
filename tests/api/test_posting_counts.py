"""The maintained posting counters (migration 0012, resolvers.labor.counters) equal counting the postings: after
inserts, updates that move postings between occupations, deletes, COPY, TRUNCATE, concurrent writers and
concurrent compactions."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest

from resolvers.labor.counters import compact
from hub.db.pools import Databases
from tests.support.sync import Writers, hub_client, scratch

COUNTED = "select occupation_code, count(*)::bigint from labor.job_postings group by 1 having count(*) > 0"
MAINTAINED = ("select occupation_code, sum(n)::bigint from labor.occupation_posting_counts group by 1 "
              "having sum(n) <> 0")


@pytest.fixture(scope="module")
def counts_db(server_url, settings):
    return scratch(server_url, settings, "hub_test_posting_counts")


def run(coro):
    return asyncio.run(coro)


async def both(conn: asyncpg.Connection) -> tuple[dict[str, int], dict[str, int]]:
    counted = {r[0]: r[1] for r in await conn.fetch(COUNTED)}
    maintained = {r[0]: r[1] for r in await conn.fetch(MAINTAINED)}
    return counted, maintained


def test_counters_start_equal_to_the_loaded_data(counts_db) -> None:
    s, _ = counts_db

    async def go():
        conn = await asyncpg.connect(s.database_url)
        try:
            return await both(conn)
        finally:
            await conn.close()

    counted, maintained = run(go())
    assert counted and counted == maintained


def test_statements_of_every_kind_keep_the_counters_equal(counts_db) -> None:
    s, _ = counts_db

    async def go():
        conn = await asyncpg.connect(s.database_url)
        try:
            codes = [r[0] for r in await conn.fetch("select code from labor.occupations order by code limit 6")]
            a, b, c = codes[0], codes[1], codes[2]
            # a multi-row insert, an update moving some postings from a to b, one that changes nothing
            # countable, a delete, a rolled-back insert
            await conn.execute(
                "insert into labor.job_postings (title, enterprise_uscc, occupation_code, headcount, wage_min, "
                "wage_max, education, district_code, posted_on) select 'counter test', enterprise_uscc, $1, 1, 1, "
                "2, education, district_code, posted_on from labor.job_postings order by id limit 40", a)
            await conn.execute("update labor.job_postings set occupation_code = $2 where id in "
                               "(select id from labor.job_postings where occupation_code = $1 order by id limit 15)",
                               a, b)
            await conn.execute("update labor.job_postings set headcount = headcount + 1 where occupation_code = $1",
                               b)
            await conn.execute("delete from labor.job_postings where id in (select id from labor.job_postings "
                               "where occupation_code = $1 order by id limit 3)", c)
            tx = conn.transaction()
            await tx.start()
            await conn.execute("update labor.job_postings set occupation_code = $1 where occupation_code = $2", c, b)
            await tx.rollback()
            after_statements = await both(conn)
            # COPY (the ingest and the demo loader use it) fires the same statement trigger
            rows = await conn.fetch("select title, enterprise_uscc, headcount, wage_min, wage_max, education, "
                                    "district_code, posted_on from labor.job_postings order by id limit 25")
            await conn.copy_records_to_table(
                "job_postings", schema_name="labor",
                columns=["title", "enterprise_uscc", "headcount", "wage_min", "wage_max", "education",
                         "district_code", "posted_on", "occupation_code"],
                records=[(*r.values(), c) for r in rows])
            after_copy = await both(conn)
            return a, b, c, after_statements, after_copy
        finally:
            await conn.close()

    a, b, c, (counted, maintained), (counted_copy, maintained_copy) = run(go())
    assert counted == maintained
    assert counted_copy == maintained_copy
    assert counted_copy[c] == counted.get(c, 0) + 25


def test_concurrent_writers_and_compactions_keep_the_counters_equal(counts_db) -> None:
    """8 writers (inserts/updates/deletes in interleaved transactions, some rolled back) while two
    compactions run in a loop, as two hub processes would: the sums equal counting, and a final
    compaction leaves exactly one row per occupation that has postings."""
    s, _ = counts_db

    async def go():
        db = await Databases(s, s.database_url).open()
        writers = Writers(s.database_url, n=8, target=3_000, seed=11)
        done = asyncio.Event()
        folded = 0

        async def compactor() -> None:
            nonlocal folded
            while not done.is_set():
                folded += await compact(db)
                await asyncio.sleep(random.random() * 0.01)

        try:
            compactors = [asyncio.ensure_future(compactor()) for _ in range(2)]
            await writers.run()
            done.set()
            await asyncio.gather(*compactors)
            await compact(db)
            async with db.pools["labor"].acquire() as conn:
                counts = await both(conn)
                rows_per_code = await conn.fetchval(
                    "select max(k) from (select count(*) k from labor.occupation_posting_counts group by "
                    "occupation_code) x")
                zero_rows = await conn.fetchval("select count(*) from labor.occupation_posting_counts where n = 0")
            return writers, folded, counts, rows_per_code, zero_rows
        finally:
            await db.close()

    writers, folded, (counted, maintained), rows_per_code, zero_rows = run(go())
    assert writers.committed >= 3_000 and writers.rolled_back > 0
    assert folded > 0, "the compactions never folded anything while the writers ran"
    assert counted == maintained
    assert rows_per_code == 1 and zero_rows == 0


def test_truncate_empties_the_counters(counts_db) -> None:
    s, _ = counts_db

    async def go():
        conn = await asyncpg.connect(s.database_url)
        try:
            async with conn.transaction():
                await conn.execute("truncate labor.job_postings cascade")
                left = await conn.fetchval("select count(*) from labor.occupation_posting_counts")
                raise _Undo(left)
        except _Undo as undo:
            return undo.args[0]
        finally:
            await conn.close()

    assert run(go()) == 0


class _Undo(Exception):
    pass


def test_posting_count_over_graphql_follows_writes(counts_db) -> None:
    """Occupation.postingCount reads the counters: a new posting shows at once, without a compaction."""
    s, tokens = counts_db
    query = "query($code: String!) { occupation(code: $code) { postingCount } }"

    async def go():
        async with hub_client(s, tokens["labor"]) as client:
            conn = await asyncpg.connect(s.database_url)
            try:
                code = await conn.fetchval("select code from labor.occupations order by code desc limit 1")
                before = (await client.post("/graphql", json={"query": query, "variables": {"code": code}})).json()
                await conn.execute(
                    "insert into labor.job_postings (title, enterprise_uscc, occupation_code, headcount, wage_min, "
                    "wage_max, education, district_code, posted_on) select 'one more', enterprise_uscc, $1, 1, 1, 2, "
                    "education, district_code, posted_on from labor.job_postings order by id limit 2", code)
                after = (await client.post("/graphql", json={"query": query, "variables": {"code": code}})).json()
                counted = await conn.fetchval("select count(*) from labor.job_postings where occupation_code = $1",
                                              code)
            finally:
                await conn.close()
            return before, after, counted

    before, after, counted = run(go())
    assert after["data"]["occupation"]["postingCount"] == before["data"]["occupation"]["postingCount"] + 2 == counted
