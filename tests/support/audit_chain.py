"""Shared by tests: moved from governance/test_audit_checkpoints.py."""

from __future__ import annotations
import asyncio
import time
from typing import Any
import asyncpg
from hub.db.pools import Databases
from hub.governance.audit import AuditEntry, record, verify
from hub.governance.audit_writer import AuditWriter
from hub.governance.audit_keys import load_private_key
from hub.governance.checkpoints import Signer
from hub.settings import Settings
from tests.support.helpers import sql, sql_value


def signer(settings: Settings, **overrides: Any) -> Signer:
    options = {"export": settings.audit_checkpoint_export, "interval": settings.audit_checkpoint_seconds, **overrides}
    return Signer(load_private_key(settings.audit_signing_key), options["export"], options["interval"])


def append_entries(settings: Settings, n: int, start: int = 1) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(settings.database_url)
        try:
            for i in range(start, start + n):
                await record(conn, AuditEntry(operation_name=f"Op{i}", operation_type="query", consumer_id=i,
                                              department="labor", rows={"labor.job_seekers": i}, outcome="OK"))
        finally:
            await conn.close()

    asyncio.run(go())


def checkpoint(settings: Settings, **kwargs: Any):
    return asyncio.run(signer(settings).checkpoint(settings.database_url, **kwargs))


def entry_ids(settings: Settings) -> list[int]:
    return [r["id"] for r in sql(settings.database_url, "select id from hub.audit_log order by id")]


def tamper(url: str, *statements: tuple) -> None:
    """Run statements as the database owner with the triggers off (what a DBA could do)."""
    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("set session_replication_role = replica")  # bypasses the append-only triggers
            for statement, *args in statements:
                await conn.execute(statement, *args)
        finally:
            await conn.close()

    asyncio.run(go())


def rewrite_and_rehash(url: str, entry_id: int, change: str) -> None:
    """Change entry ``entry_id``, then re-hash it and every later entry with the database's own function, so
    the chain verifies again."""
    tamper(url, (f"update hub.audit_log set {change} where id = $1", entry_id))
    ids = [r["id"] for r in sql(url, "select id from hub.audit_log where id >= $1 order by id", entry_id)]
    prev = sql_value(url, "select coalesce((select hash from hub.audit_log where id < $1 order by id desc limit 1), "
                          "repeat('0', 64))", entry_id)
    for i in ids:
        tamper(url, ("update hub.audit_log a set prev_hash = $2, hash = hub.audit_hash($2, a) where id = $1", i, prev))
        prev = sql_value(url, "select hash from hub.audit_log where id = $1", i)


CHAIN_LOCK = 7642001  # the audit chain's advisory lock (migration 0007); a test holds it to keep a batch in flight


def last_audit_id(url: str) -> int:
    return sql_value(url, "select coalesce(max(id), 0) from hub.audit_log")


def verify_chain_ok(url: str) -> None:
    """`hub audit verify`'s walk finds the whole chain intact."""
    async def go() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await verify(conn)
        finally:
            await conn.close()

    result = asyncio.run(go())
    assert result.ok, result
    assert result.checked == sql_value(url, "select count(*) from hub.audit_log")


async def wait_for_chain_waiter(conn: asyncpg.Connection, timeout: float = 10.0) -> None:
    """Until a backend waits for the chain's advisory lock (a batch is in flight and blocked)."""
    deadline = time.monotonic() + timeout
    while not await conn.fetchval("select count(*) from pg_locks where locktype = 'advisory' and not granted "
                                  "and objid = $1", CHAIN_LOCK):
        assert time.monotonic() < deadline, "no batch waited for the chain lock"
        await asyncio.sleep(0.01)


# Moved from governance/test_audit_writer_attack.py (also used by governance/test_audit_rest_attack.py).

def writer_entry(worker: int, i: int) -> AuditEntry:
    return AuditEntry(operation_type="query", operation_name=f"W{worker}Op{i}", consumer_id=worker,
                      department="labor", consumer_name=f"worker {worker} 系统", datasets=["labor.job_postings"],
                      rows={"labor.job_postings": i}, document_hash=f"{i:064x}", trace_id=f"{worker:032x}")


def written_while_the_chain_is_held(settings: Settings, entries: list[AuditEntry]) -> list[Any]:
    """Each entry's outcome (None or its error) when the writer's first batch waits for the chain's lock: the
    others are queued meanwhile and go out together as the next batch."""
    async def go() -> list[Any]:
        db = await Databases(settings, settings.database_url).open()
        writer = AuditWriter(db.hub)
        holder = await asyncpg.connect(settings.database_url)
        try:
            await holder.execute("select pg_advisory_lock($1)", CHAIN_LOCK)
            first = asyncio.ensure_future(writer.write(entries[0]))
            await wait_for_chain_waiter(holder)
            rest = [asyncio.ensure_future(writer.write(e)) for e in entries[1:]]
            await asyncio.sleep(0)
            await holder.execute("select pg_advisory_unlock($1)", CHAIN_LOCK)
            return await asyncio.gather(first, *rest, return_exceptions=True)
        finally:
            await holder.close()
            await writer.close()
            await db.close()

    return asyncio.run(go())
