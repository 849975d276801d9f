"""A snapshot's reader that stops reading (the deploy's proxy no longer buffers an answer to its disk, so a slow
client's answer waits at the replica): the snapshot holds a pool connection in a REPEATABLE READ transaction while
its stream is blocked. Real PostgreSQL; the client is an ASGI ``send`` that never returns."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from hub.app import create_app
from tests.support.helpers import sql


def test_a_snapshot_whose_client_stops_reading_gives_its_connection_back_at_the_deadline(settings, tokens) -> None:
    """Through nginx (``proxy_max_temp_file_size 0``) a client that reads a few bytes every minute keeps nginx's
    ``send_timeout`` from firing, and nothing in the hub bounded the stream: the snapshot's connection (one of its
    department's pool) and transaction were held as long as the client liked. Now the whole answer has
    ``HUB_SYNC_SNAPSHOT_MAX_SECONDS``: then the stream is cut (no final line: the client discards it), the
    connection goes back and the entry says CANCELLED."""
    s = replace(settings, sync_snapshot_max_seconds=1.0)
    app = create_app(s)
    before = sql(s.database_url, "select coalesce(max(id), 0) as id from hub.audit_log")[0]["id"]

    async def go() -> tuple[float, int]:
        async with app.router.lifespan_context(app):
            pool = app.state.db.departments["labor"].pool
            idle = pool.get_idle_size()
            started = asyncio.Event()
            forever = asyncio.Event()

            async def receive() -> dict:
                await forever.wait()  # the client neither reads nor goes away
                return {"type": "http.disconnect"}

            async def send(message: dict) -> None:
                if message["type"] == "http.response.body":
                    started.set()
                    await forever.wait()  # the first chunk never leaves: the client's window is closed

            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                     "scheme": "http", "path": "/sync/labor.job_seekers/snapshot", "raw_path": b"", "query_string": b"",
                     "root_path": "", "client": ("127.0.0.1", 1), "server": ("hub", 80),
                     "headers": [(b"host", b"hub"), (b"authorization", f"Bearer {tokens['labor']}".encode())]}
            task = asyncio.ensure_future(app(scope, receive, send))
            await asyncio.wait_for(started.wait(), 10)
            t0 = time.monotonic()
            try:
                await asyncio.wait_for(asyncio.shield(task), 10)
            except asyncio.TimeoutError:
                pass
            held = time.monotonic() - t0
            still = not task.done()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return held if not still else float("inf"), pool.get_idle_size() - idle

    held, idle_change = asyncio.run(go())
    assert held < 5, f"the snapshot's connection was still held after {held:.1f} s"
    assert idle_change == 0  # the snapshot's connection is idle in its pool again
    rows = sql(s.database_url, "select operation_name, error_codes from hub.audit_log where id > $1", before)
    assert [(r["operation_name"], r["error_codes"]) for r in rows] == [
        ("sync.snapshot labor.job_seekers (ndjson)", ["CANCELLED"])]


def test_a_snapshot_cut_while_its_entry_is_written_leaves_one_entry(settings, tokens) -> None:
    """The deadline cancels the stream wherever it is: when that was while the final audit entry waited for the
    chain (held here by a lock taken on a connection of the test's own), the entry was still written (once queued it
    is) and the cleanup, seeing no entry yet, wrote a second one (CANCELLED) for the same request."""
    import asyncpg

    from tests.support.audit_chain import CHAIN_LOCK, wait_for_chain_waiter

    s = replace(settings, sync_snapshot_max_seconds=1.0)
    app = create_app(s)
    before = sql(s.database_url, "select coalesce(max(id), 0) as id from hub.audit_log")[0]["id"]

    async def go() -> None:
        async with app.router.lifespan_context(app):
            holder = await asyncpg.connect(s.database_url)
            try:
                async def receive() -> dict:
                    await asyncio.Event().wait()
                    return {"type": "http.disconnect"}

                async def send(message: dict) -> None:
                    pass

                scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                         "scheme": "http", "path": "/sync/labor.occupations/snapshot", "raw_path": b"",
                         "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1), "server": ("hub", 80),
                         "headers": [(b"host", b"hub"), (b"authorization", f"Bearer {tokens['labor']}".encode())]}
                await holder.execute("select pg_advisory_lock($1)", CHAIN_LOCK)
                task = asyncio.ensure_future(app(scope, receive, send))
                await wait_for_chain_waiter(holder)
                await asyncio.sleep(1.5)  # the deadline passes while the entry waits
                await holder.execute("select pg_advisory_unlock($1)", CHAIN_LOCK)
                await asyncio.wait_for(task, 10)
                await asyncio.sleep(0.5)
            finally:
                await holder.close()

    asyncio.run(go())
    rows = sql(s.database_url, "select operation_name, error_codes from hub.audit_log where id > $1", before)
    assert [r["operation_name"] for r in rows] == ["sync.snapshot labor.occupations (ndjson)"], rows
