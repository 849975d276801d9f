"""Helpers for the sync tests: scratch databases, an in-process HTTP client, concurrent writers."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from dataclasses import dataclass, field, replace
from typing import Any, AsyncIterator

import asyncpg
import httpx
import orjson

from hub.app import create_app
from hub.db.pools import Databases
from hub.governance import audit_outbox
from hub.settings import Settings
from hub.sync.client import Replica
from hub.sync.cursor import Cursor
from tests.support.database import audit_checkpoints_on, prepare, with_database

DATASET = "labor.job_postings"


def scratch(server_url: str, settings: Settings, name: str, **overrides: Any) -> tuple[Settings, dict[str, str]]:
    """A fresh database ``name`` (prefix hub_test) with the small demo data and the demo consumers (no rate
    limit unless given: the followers here poll as fast as they can)."""
    overrides.setdefault("rate_limit_per_second", 0.0)
    s = replace(settings, database_url=with_database(server_url, name), department_urls={}, **overrides)
    s = audit_checkpoints_on(s, name)  # an export file of its own: one file follows one database's checkpoints
    tokens = asyncio.run(prepare(s, server_url, name))
    return s, tokens


@contextlib.asynccontextmanager
async def hub_client(settings: Settings, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app (lifespan included) behind an in-process async HTTP client, in the caller's event loop."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub",
                                     headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            client.app = app
            yield client


def drain_outbox(settings: Settings, grace: float = 0.0) -> audit_outbox.Drained:
    """One drain of the audit outbox (``hub.governance.audit_outbox``) of ``settings``' databases."""
    async def go() -> audit_outbox.Drained:
        db = await Databases(settings, settings.database_url).open()
        try:
            return await audit_outbox.drain(db, grace=grace)
        finally:
            await db.close()
    return asyncio.run(go())


def ndjson(body: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in body.splitlines() if line.strip()]


async def source_rows(url: str, dataset: str = DATASET) -> dict[int, dict[str, Any]]:
    schema, table = dataset.split(".")
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(f'select id, to_jsonb(t)::text as j from "{schema}"."{table}" t')
    finally:
        await conn.close()
    return {r["id"]: orjson.loads(r["j"]) for r in rows}


async def logged_changes(url: str, dataset: str = DATASET) -> set[tuple[int, int]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("select txid, seq from hub_sync.change_log where dataset = $1", dataset)
    finally:
        await conn.close()
    return {(r["txid"], r["seq"]) for r in rows}


@dataclass
class Follower:
    """Follows a dataset's feed over HTTP, checking the order, and applies it to a Replica."""

    client: httpx.AsyncClient
    cursor: str | None = None
    dataset: str = DATASET
    limit: int = 500
    replica: Replica = field(default_factory=Replica)
    seen: list[tuple[int, int]] = field(default_factory=list)
    pages: int = 0

    async def page(self) -> bool:
        params = {"limit": self.limit, **({"after": self.cursor} if self.cursor else {})}
        response = await self.client.get(f"/sync/{self.dataset}/changes", params=params)
        assert response.status_code == 200, response.text
        lines = ndjson(response.content)
        final = lines.pop()
        assert final["count"] == len(lines)
        for change in lines:
            position = (int(change["txid"]), change["version"])
            assert not self.seen or position > self.seen[-1], "the feed went backwards"
            self.seen.append(position)
            self.replica.apply(change)
        self.cursor = final["next_cursor"]
        self.pages += 1
        return final["has_more"]

    async def catch_up(self, past: int | None = None, timeout: float = 30.0) -> None:
        """Read until caught up — and, given ``past`` (a txid), until the cursor is beyond that transaction:
        the feed holds changes back while older transactions anywhere on the server are still open."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            more = await self.page()
            if not more and (past is None or Cursor.decode(self.cursor, self.dataset).txid > past):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the feed did not pass transaction {past} within {timeout} s")
            if not more:
                await asyncio.sleep(0.02)


async def wait_readable(url: str, txid: int, timeout: float = 30.0) -> None:
    """Wait until transaction ``txid`` is older than every open one (its changes can be handed out)."""
    conn = await asyncpg.connect(url)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while await conn.fetchval("select pg_snapshot_xmin(pg_current_snapshot())::text::bigint") <= txid:
            assert asyncio.get_running_loop().time() < deadline, f"transaction {txid} stayed behind open ones"
            await asyncio.sleep(0.02)
    finally:
        await conn.close()


async def newest_txid(url: str) -> int:
    """The id of the newest transaction so far (the feed must pass it to have delivered everything)."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("select pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
    finally:
        await conn.close()


@dataclass
class Writers:
    """``n`` concurrent writers on labor.job_postings: inserts, updates and deletes in transactions of 1-4
    statements, sleeping inside the open transaction so that commits interleave; some roll back."""

    url: str
    n: int = 8
    target: int = 10_000  # committed row changes to make
    committed: int = 0
    commits: list[int] = field(default_factory=list)  # txids in commit order
    rolled_back: int = 0
    seed: int = 7

    async def run(self) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            occupations = [r[0] for r in await conn.fetch("select code from labor.occupations")]
            usccs = [r[0] for r in await conn.fetch("select distinct enterprise_uscc from labor.job_postings")]
            self.ids = [r[0] for r in await conn.fetch("select id from labor.job_postings")]
        finally:
            await conn.close()
        self.occupations, self.usccs = occupations, usccs
        await asyncio.gather(*(self._writer(random.Random(self.seed * 100 + i)) for i in range(self.n)))

    async def _writer(self, rng: random.Random) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            while self.committed < self.target:
                changed = 0
                try:
                    async with conn.transaction():
                        for _ in range(rng.randint(1, 4)):
                            changed += await self._statement(conn, rng)
                            await asyncio.sleep(rng.random() * 0.003)
                        txid = await conn.fetchval("select pg_current_xact_id()")
                        if rng.random() < 0.08:
                            raise _Rollback
                    self.committed += changed
                    self.commits.append(txid)
                except _Rollback:
                    self.rolled_back += 1
                except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
                    self.rolled_back += 1
        finally:
            await conn.close()

    async def _statement(self, conn: asyncpg.Connection, rng: random.Random) -> int:
        roll = rng.random()
        if roll < 0.45 or not self.ids:
            posted = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))
            new_id = await conn.fetchval(
                "insert into labor.job_postings (title, enterprise_uscc, occupation_code, headcount, wage_min, "
                "wage_max, education, skill_level, district_code, posted_on) values ($1, $2, $3, $4, 5000, 7000, "
                "'HIGH_SCHOOL', $5, '440106', $6) returning id",
                f"岗位{rng.randrange(10**6)}", rng.choice(self.usccs), rng.choice(self.occupations),
                rng.randint(1, 9), rng.choice([None, 1, 2, 3, 4, 5]), posted)
            self.ids.append(new_id)
            return 1
        target = rng.choice(self.ids)
        if roll < 0.85:
            status = await conn.execute("update labor.job_postings set headcount = headcount % 40 + 1, "
                                        "title = $2 where id = $1", target, f"更新{rng.randrange(10**6)}")
        else:
            status = await conn.execute("delete from labor.job_postings where id = $1", target)
        return int(status.split()[-1])


class _Rollback(Exception):
    pass


def inversions(txids: list[int]) -> int:
    """How often a transaction committed after one with a larger id (commit order != id order)."""
    count, highest = 0, -1
    for t in txids:
        if t < highest:
            count += 1
        highest = max(highest, t)
    return count
