"""The change feed's contract (docs/design.md, "Sync contract"), against a real PostgreSQL with real concurrency:
nothing skipped when transactions commit out of id order, nothing applied twice, snapshot + feed = source."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time

import asyncpg
import pytest

from hub.db.pools import Databases
from hub.demo.load import load_demo
from hub.sync.client import Replica
from hub.sync.feed import prune
from tests.support.sync import (
    DATASET, Follower, Writers, hub_client, inversions, logged_changes, ndjson, newest_txid, scratch, source_rows,
)


@pytest.fixture(scope="module")
def feed_db(server_url, settings):
    return scratch(server_url, settings, "hub_test_sync_feed")


def run(coro):
    return asyncio.run(coro)


async def some_ids(url: str, n: int) -> list[int]:
    """Ids of existing postings (the writers of other tests delete some)."""
    conn = await asyncpg.connect(url)
    try:
        return [r[0] for r in await conn.fetch("select id from labor.job_postings order by id limit $1", n)]
    finally:
        await conn.close()


def test_concurrent_writers_feed_rebuilds_the_table_exactly(feed_db) -> None:
    """8 writers (inserts, updates, deletes; sleeps inside open transactions; some roll back) make >= 10,000
    changes while a reader follows the feed from the start of the log. The rebuilt table equals the source,
    and every logged change was delivered exactly once, in (txid, seq) order."""
    s, tokens = feed_db

    async def go():
        async with hub_client(s, tokens["labor"]) as client:
            writers = Writers(s.database_url, n=8, target=10_000)
            follower = Follower(client, limit=300)
            task = asyncio.ensure_future(writers.run())
            started = time.monotonic()
            while not task.done():
                await follower.page()
                await asyncio.sleep(0.002)
            await task
            written = time.monotonic() - started
            await follower.catch_up(past=await newest_txid(s.database_url))
            logged = await logged_changes(s.database_url)
            return writers, follower, logged, written

    writers, follower, logged, written = run(go())
    assert writers.committed >= 10_000
    assert inversions(writers.commits) > 0, "the writers never committed out of transaction-id order"
    assert writers.rolled_back > 0
    assert len(follower.seen) == len(set(follower.seen)), "a change was delivered twice"
    assert set(follower.seen) == logged, "the feed skipped changes"
    assert follower.pages > 20, "the reader should have followed the feed while the writers ran"
    assert follower.replica.rows == run(source_rows(s.database_url))
    print(f"\n{writers.committed} changes by 8 writers in {written:.1f} s, "
          f"{inversions(writers.commits)} out-of-order commits, {follower.pages} feed pages")


@contextlib.asynccontextmanager
async def two_writers(s, token: str):
    """The app with a follower caught up to the end of the feed, and two more connections A and B."""
    async with hub_client(s, token) as client:
        follower = Follower(client)
        await follower.catch_up()
        a, b = await asyncpg.connect(s.database_url), await asyncpg.connect(s.database_url)
        try:
            yield follower, a, b
        finally:
            await a.close()
            await b.close()


def test_a_later_transaction_waits_for_an_older_open_one(feed_db) -> None:
    """B (larger txid) commits while A (smaller txid) is open: the feed hands out neither until A ends, then
    A's change first — a reader that had taken B would have skipped A forever."""
    s, tokens = feed_db

    async def go():
        async with two_writers(s, tokens["labor"]) as (follower, a, b):
            first, second = await some_ids(s.database_url, 2)
            ta = a.transaction()
            await ta.start()
            await a.execute("update labor.job_postings set headcount = 7 where id = $1", first)
            await b.execute("update labor.job_postings set headcount = 8 where id = $1", second)  # commits
            before = len(follower.seen)
            await follower.page()
            held_back = len(follower.seen) - before
            await ta.commit()
            await follower.catch_up(past=await newest_txid(s.database_url))
            return held_back, follower.seen[before:]

    held_back, delivered = run(go())
    assert held_back == 0
    assert len(delivered) == 2 and delivered[0][0] < delivered[1][0]


def test_last_writer_wins_by_version_not_by_transaction_id(feed_db) -> None:
    """B takes its txid first, A updates row r and commits, then B updates r and commits: the feed lists B's
    change before A's (txid order), but B's has the larger version, so the replica keeps B's row."""
    s, tokens = feed_db

    async def go():
        async with two_writers(s, tokens["labor"]) as (follower, a, b):
            other, row = await some_ids(s.database_url, 2)
            tb = b.transaction()
            await tb.start()
            await b.execute("update labor.job_postings set headcount = 1 where id = $1", other)  # B's xid first
            await a.execute("update labor.job_postings set title = 'A wrote this' where id = $1", row)
            await b.execute("update labor.job_postings set title = 'B wrote this' where id = $1", row)
            await tb.commit()
            await follower.catch_up(past=await newest_txid(s.database_url))
            return follower, row

    follower, row = run(go())
    assert follower.replica.rows[row]["title"] == "B wrote this"
    assert follower.replica.rows == run(source_rows(s.database_url))


def test_snapshot_cursor_starts_exactly_at_the_snapshot(feed_db) -> None:
    """A is open while B commits; a snapshot then sees B but not A. The feed after the snapshot's cursor
    delivers A's change and not B's (already in the snapshot), although A's txid is the smaller."""
    s, tokens = feed_db

    async def go():
        async with hub_client(s, tokens["labor"]) as client:
            a, b = await asyncpg.connect(s.database_url), await asyncpg.connect(s.database_url)
            try:
                id_a, id_b = await some_ids(s.database_url, 2)
                ta = a.transaction()
                await ta.start()
                await a.execute("update labor.job_postings set title = 'from A' where id = $1", id_a)
                txid_a = await a.fetchval("select pg_current_xact_id()")
                txid_b = await b.fetchval("update labor.job_postings set title = 'from B' where id = $1 "
                                          "returning pg_current_xact_id()", id_b)
                snap = await client.get(f"/sync/{DATASET}/snapshot")
                await ta.commit()
            finally:
                await a.close()
                await b.close()
            lines = ndjson(snap.content)
            final = lines.pop()
            assert final["cursor"] == snap.headers["x-hub-cursor"] and final["rows"] == len(lines)
            replica = Replica()
            for row in lines:
                replica.add_snapshot_row(row)
            follower = Follower(client, cursor=final["cursor"], replica=replica)
            await follower.catch_up(past=await newest_txid(s.database_url))
            return lines, follower, txid_a, txid_b, id_a, id_b

    lines, follower, txid_a, txid_b, id_a, id_b = run(go())
    assert txid_a < txid_b
    by_id = {r["id"]: r for r in lines}
    assert by_id[id_b]["title"] == "from B" and by_id[id_a]["title"] != "from A"
    txids = [t for t, _ in follower.seen]
    assert txid_a in txids and txid_b not in txids
    assert follower.replica.rows == run(source_rows(s.database_url))


def test_snapshot_during_concurrent_writes_plus_feed_equals_source(feed_db) -> None:
    """Writers commit while the snapshot streams; snapshot + feed from its cursor = the source."""
    s, tokens = feed_db

    async def go():
        async with hub_client(s, tokens["labor"]) as client:
            writers = Writers(s.database_url, n=8, target=2_000, seed=11)
            task = asyncio.ensure_future(writers.run())
            while writers.committed < 200:
                await asyncio.sleep(0.005)
            before = writers.committed
            snap = await client.get(f"/sync/{DATASET}/snapshot")
            during = writers.committed - before
            lines = ndjson(snap.content)
            final = lines.pop()
            replica = Replica()
            for row in lines:
                replica.add_snapshot_row(row)
            follower = Follower(client, cursor=final["cursor"], replica=replica, limit=200)
            while not task.done():
                await follower.page()
                await asyncio.sleep(0.005)
            await task
            await follower.catch_up(past=await newest_txid(s.database_url))
            return during, follower

    during, follower = run(go())
    assert during > 0, "no write committed while the snapshot was streaming"
    assert follower.replica.rows == run(source_rows(s.database_url))


def test_reseeding_is_a_reset_then_inserts(feed_db, server_url) -> None:
    """The demo seeder TRUNCATEs and COPYs: the feed carries a reset marker, then the new rows; a replica that
    followed the old data ends with exactly the new data."""
    s, tokens = feed_db

    async def go():
        async with hub_client(s, tokens["labor"]) as client:
            follower = Follower(client, limit=2000)
            await follower.catch_up()
            db = await Databases(s, s.database_url).open()
            try:
                pools = {"hub": db.pools["bigdata"], **{d: db.pools[d] for d in ("commerce", "labor", "science",
                                                                                  "education")}}
                await load_demo(pools, scale="small", seed=5)
            finally:
                await db.close()
            before = len(follower.seen)
            await follower.catch_up(past=await newest_txid(s.database_url))
            return follower, before

    follower, before = run(go())
    assert follower.replica.floor > 0, "no reset marker was delivered"
    assert len(follower.seen) - before > 3000  # the reset and the new rows
    assert follower.replica.rows == run(source_rows(s.database_url))


def test_retention_expires_old_cursors(server_url, settings) -> None:
    """Changes older than the retention horizon are pruned; a cursor before the horizon gets CURSOR_EXPIRED
    (HTTP 410; in GraphQL the code) and a new snapshot's cursor works."""
    s, tokens = scratch(server_url, settings, "hub_test_sync_retention")

    async def go():
        async with hub_client(s, tokens["labor"]) as client:
            first = ndjson((await client.get(f"/sync/{DATASET}/changes", params={"limit": 1})).content)
            cursor = first[0]["cursor"]
            db = client.app.state.db
            kept = await prune(db, dt.timedelta(hours=1))  # nothing is that old yet
            removed = await prune(db, dt.timedelta(0))
            expired = await client.get(f"/sync/{DATASET}/changes", params={"after": cursor})
            from_start = await client.get(f"/sync/{DATASET}/changes")
            gql = await client.post("/graphql", json={"query": "query($a: String) { changes(dataset: "
                                                                 "\"labor.job_postings\", after: $a) { nextCursor } }",
                                                        "variables": {"a": cursor}})
            snap = await client.get(f"/sync/{DATASET}/snapshot")
            fresh = await client.get(f"/sync/{DATASET}/changes", params={"after": snap.headers["x-hub-cursor"]})
            return kept, removed, expired, from_start, gql.json(), fresh

    kept, removed, expired, from_start, gql, fresh = run(go())
    assert kept == 0 and removed >= 3000
    assert expired.status_code == 410
    assert expired.json()["errors"][0]["extensions"]["code"] == "CURSOR_EXPIRED"
    assert from_start.status_code == 410  # the start of the log is gone too
    assert gql["errors"][0]["extensions"]["code"] == "CURSOR_EXPIRED" and gql["data"]["changes"] is None
    assert fresh.status_code == 200
