"""Group commit of the audit log (``hub.governance.audit_writer.AuditWriter``): batches of entries, one INSERT each.

Real PostgreSQL throughout, on a scratch database of its own (migrated, with the demo consumers, no demo
data). Batches are told apart in the database itself: every batch is one statement in its own transaction,
so the rows of one batch share their ``xmin``. To hold a batch in flight, a test takes the chain's advisory
lock (7642001, the one the ``hub.audit_log_chain`` trigger waits for) on a connection of its own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from dataclasses import replace
from typing import Any, Awaitable, Callable, Iterator

import asyncpg
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hub.governance.audit import AuditEntry, record
from hub import SQL_DIR
from hub.governance.audit_writer import APPEND_QUERY, AuditWriter, batch_args, entry_rest
from hub.db.pools import Databases, strip_header
from hub.governance.audit_hash import chain_hash, content
from hub.settings import Settings
from hub.telemetry.metrics import HubMetrics
from hub.telemetry.tracing import Telemetry
from tests.support.database import empty_database
from tests.support.clients import client_with_token
from tests.support.audit_chain import CHAIN_LOCK, last_audit_id, verify_chain_ok, wait_for_chain_waiter
from tests.support.helpers import sql

WRITER_DB = "hub_test_audit_writer"
CONTENT = ("consumer_id, department, consumer_name, operation_name, operation_type, document_hash, datasets, "
           "grants, rows, masked_fields, denied, outcome, error_codes, trace_id")


@pytest.fixture(scope="module")
def db_settings(server_url: str) -> tuple[Settings, dict[str, str]]:
    settings, tokens = empty_database(server_url, WRITER_DB)
    return replace(settings, rate_limit_per_second=0.0), tokens


def _entry(i: int, name: str | None = None) -> AuditEntry:
    """Entries of varied shape: awkward strings (quotes, commas, braces, backslashes, non-ASCII, line breaks: a
    batch's contents are sent joined by line feeds) and empties."""
    odd = ['a,b', '{x}', 'say "hi"', "back\\slash", "张三", "NULL", "", "two\nlines", "\r\n", "a\u2028b"]
    return AuditEntry(
        outcome=("OK", "ERROR", "DENIED")[i % 3], operation_type=("query", "mutation", "unknown")[i % 3],
        operation_name=name or (f"Op{i}" if i % 5 else None), document_hash=f"{i:064x}",
        consumer_id=i if i % 4 else None, department=("labor", "commerce", None)[i % 3],
        consumer_name=odd[i % len(odd)] if i % 2 else f"系统 {i}",
        datasets=[f"labor.d{i % 3}", odd[i % len(odd)]] if i % 2 else [],
        grants=[i, 2 ** 40 + i] if i % 3 == 0 else [],
        rows={f"labor.d{i % 3}": i, "x.y": 0} if i % 2 else {},
        masked_fields=[f"labor.d.f{i}"] if i % 4 == 1 else [], denied=["a.b"] if i % 7 == 0 else [],
        error_codes=["FORBIDDEN", "BAD_USER_INPUT"] if i % 3 == 2 else [],
        trace_id=f"{i:032x}" if i % 6 else None)


async def _with_writer(settings: Settings, body: Callable[[Databases, AuditWriter], Awaitable[Any]],
                       **kwargs: Any) -> Any:
    db = await Databases(settings, settings.database_url).open()
    writer = AuditWriter(db.hub, **kwargs)
    try:
        return await body(db, writer)
    finally:
        await writer.close()
        await db.close()


def _batches_after(url: str, after: int) -> list[int]:
    """Sizes of the transactions (= INSERT statements) that wrote the entries after ``after``, in id order."""
    rows = sql(url, "select xmin::text as tx, count(*) as n, min(id) as first from hub.audit_log where id > $1 "
                    "group by xmin::text order by first", after)
    return [r["n"] for r in rows]


# --- batching ----------------------------------------------------------------------------------------

def test_200_concurrent_writes_are_grouped_in_order_and_chain(db_settings) -> None:
    settings, _ = db_settings
    url = settings.database_url
    before = last_audit_id(url)

    async def body(db: Databases, writer: AuditWriter) -> None:
        # All 200 are queued before the idle writer's flush starts: batches of the cap, in call order.
        await asyncio.gather(*(writer.write(_entry(i)) for i in range(200)))
        assert (writer.entries, writer.batches, writer.failed_batches, writer.pending) == (200, 4, 0, 0)

    asyncio.run(_with_writer(settings, body, max_batch=64))
    assert _batches_after(url, before) == [64, 64, 64, 8]  # 4 INSERT statements for 200 entries
    names = [r["document_hash"] for r in sql(url, "select document_hash from hub.audit_log where id > $1 "
                                                  "order by id", before)]
    assert names == [f"{i:064x}" for i in range(200)]  # id order (= chain order) is the order of write()
    verify_chain_ok(url)

    # The same entries through the single-row path (one INSERT each) have exactly the same content.
    middle = last_audit_id(url)

    async def single(db: Databases, writer: AuditWriter) -> None:
        for i in range(200):
            await record(db.hub, _entry(i))

    asyncio.run(_with_writer(settings, single))
    batched = sql(url, f"select {CONTENT} from hub.audit_log where id > $1 and id <= $2 order by id", before, middle)
    singles = sql(url, f"select {CONTENT} from hub.audit_log where id > $1 order by id", middle)
    assert len(batched) == len(singles) == 200
    assert [dict(r) for r in batched] == [dict(r) for r in singles]
    assert _batches_after(url, middle) == [1] * 200
    verify_chain_ok(url)


def test_a_lone_write_is_flushed_at_once_and_later_writes_form_the_next_batch(db_settings) -> None:
    settings, _ = db_settings
    url = settings.database_url
    before = last_audit_id(url)

    async def body(db: Databases, writer: AuditWriter) -> None:
        started = time.perf_counter()
        await writer.write(_entry(1, "Lone"))  # an idle writer does not wait for company
        assert time.perf_counter() - started < 2.0 and writer.batches == 1
        holder = await asyncpg.connect(settings.database_url)
        try:
            await holder.execute("select pg_advisory_lock($1)", CHAIN_LOCK)
            first = asyncio.ensure_future(writer.write(_entry(2, "First")))
            await wait_for_chain_waiter(holder)  # "First" is in flight, blocked by the chain lock
            rest = [asyncio.ensure_future(writer.write(_entry(i, f"Next{i}"))) for i in range(3, 13)]
            await asyncio.sleep(0)
            assert writer.pending == 10 and writer.busy and not first.done()
            await holder.execute("select pg_advisory_unlock($1)", CHAIN_LOCK)
            await asyncio.gather(first, *rest)
        finally:
            await holder.close()
        assert writer.batches == 3

    asyncio.run(_with_writer(settings, body))
    assert _batches_after(url, before) == [1, 1, 10]
    verify_chain_ok(url)


# --- several processes (workers) on one chain -----------------------------------------------------------

def test_two_workers_writers_interleave_into_one_chain(db_settings) -> None:
    """Two writers with pools of their own (two workers) and single-row inserts append to one chain at once:
    each batch is chained, under the chain's lock, from the entry committed last, whoever wrote it. Without the
    lock two batches would chain from the same entry (a fork) and ``verify`` would fail."""
    settings, _ = db_settings
    url = settings.database_url
    before = last_audit_id(url)

    async def go() -> None:
        db_a = await Databases(settings, settings.database_url).open()
        db_b = await Databases(settings, settings.database_url).open()
        a, b = AuditWriter(db_a.hub, max_batch=4), AuditWriter(db_b.hub, max_batch=4)
        try:
            await asyncio.gather(*(w.write(_entry(i, f"{n}{i}")) for i in range(200) for n, w in (("A", a), ("B", b))),
                                 *(record(db_b.hub, _entry(i, f"Single{i}")) for i in range(10)))
        finally:
            await a.close()
            await b.close()
            await db_a.close()
            await db_b.close()

    asyncio.run(go())
    rows = sql(url, "select id, operation_name, prev_hash, hash from hub.audit_log where id > $1 order by id", before)
    assert len(rows) == 410 and len({r["hash"] for r in rows}) == 410
    assert all(r["prev_hash"] == p["hash"] for p, r in zip(rows, rows[1:]))  # one chain, no fork
    writers = [r["operation_name"][0] for r in rows if r["operation_name"][0] in "AB"]
    assert sum(x != y for x, y in zip(writers, writers[1:])) > 2  # the two writers' batches interleaved
    for n in "AB":  # each writer's entries in the order of its write() calls
        assert [r["operation_name"] for r in rows if r["operation_name"][0] == n] == [f"{n}{i}" for i in range(200)]
    verify_chain_ok(url)


# --- failure -----------------------------------------------------------------------------------------

def test_a_failing_batch_is_retried_one_by_one_only_the_refused_entry_fails(db_settings) -> None:
    settings, _ = db_settings
    url = settings.database_url
    # A real refusal by the database: a trigger that rejects one entry makes its whole statement fail; the
    # writer then writes the batch's entries one by one, and only the refused one fails.
    sql(url, """create or replace function hub.test_refuse_poison() returns trigger language plpgsql as $$
                begin raise exception 'audit storage refuses %', new.operation_name; end $$""")
    sql(url, """create trigger test_refuse_poison before insert on hub.audit_log for each row
                when (new.operation_name = 'Poison') execute function hub.test_refuse_poison()""")
    before = last_audit_id(url)
    try:
        async def body(db: Databases, writer: AuditWriter) -> list[Any]:
            holder = await asyncpg.connect(settings.database_url)
            try:
                await holder.execute("select pg_advisory_lock($1)", CHAIN_LOCK)
                first = asyncio.ensure_future(writer.write(_entry(1, "Innocent1")))
                await wait_for_chain_waiter(holder)
                doomed = [asyncio.ensure_future(writer.write(_entry(i, name)))
                          for i, name in ((2, "Innocent2"), (3, "Poison"), (4, "Innocent3"))]
                await asyncio.sleep(0)
                await holder.execute("select pg_advisory_unlock($1)", CHAIN_LOCK)
                results = await asyncio.gather(first, *doomed, return_exceptions=True)
            finally:
                await holder.close()
            # 1 + the failed batch of 3 + 3 single retries (one of them refused)
            assert (writer.batches, writer.failed_batches, writer.entries) == (5, 2, 3)
            await writer.write(_entry(5, "After"))  # the next batch is written as usual
            await asyncio.gather(*(writer.write(_entry(i, f"After{i}")) for i in range(6, 9)))
            assert (writer.batches, writer.failed_batches, writer.entries) == (7, 2, 7)
            return results

        results = asyncio.run(_with_writer(settings, body))
    finally:
        sql(url, "drop trigger test_refuse_poison on hub.audit_log")
        sql(url, "drop function hub.test_refuse_poison()")
    assert results[0] is None  # the batch before the poisoned one committed
    assert results[1] is None and results[3] is None  # its batch-mates were written one by one
    assert isinstance(results[2], Exception) and "audit storage refuses Poison" in str(results[2])
    names = [r["operation_name"] for r in sql(url, "select operation_name from hub.audit_log where id > $1 "
                                                   "order by id", before)]
    assert names == ["Innocent1", "Innocent2", "Innocent3", "After", "After6", "After7", "After8"]
    assert _batches_after(url, before) == [1, 1, 1, 1, 3]
    verify_chain_ok(url)


def test_a_closed_pool_fails_the_waiters_and_a_closed_writer_refuses(db_settings) -> None:
    settings, _ = db_settings

    async def go() -> None:
        db = await Databases(settings, settings.database_url).open()
        writer = AuditWriter(db.hub)
        await db.close()  # the pool is gone: the batch cannot be written
        results = await asyncio.gather(*(writer.write(_entry(i)) for i in range(3)), return_exceptions=True)
        assert all(isinstance(r, Exception) for r in results) and writer.failed_batches == 1
        await writer.close()
        with pytest.raises(RuntimeError, match="closed"):
            await writer.write(_entry(9))

    asyncio.run(go())


def test_a_cancelled_waiter_s_entry_is_still_written(db_settings) -> None:
    settings, _ = db_settings
    url = settings.database_url
    before = last_audit_id(url)

    async def body(db: Databases, writer: AuditWriter) -> None:
        holder = await asyncpg.connect(settings.database_url)
        try:
            await holder.execute("select pg_advisory_lock($1)", CHAIN_LOCK)
            first = asyncio.ensure_future(writer.write(_entry(1, "Kept1")))
            await wait_for_chain_waiter(holder)
            second = asyncio.ensure_future(writer.write(_entry(2, "Kept2")))
            third = asyncio.ensure_future(writer.write(_entry(3, "Kept3")))
            await asyncio.sleep(0)
            first.cancel()  # its batch is in flight
            second.cancel()  # it is queued
            await asyncio.sleep(0)
            await holder.execute("select pg_advisory_unlock($1)", CHAIN_LOCK)
            await third  # the others' cancellation does not fail their batch-mates
        finally:
            await holder.close()

    asyncio.run(_with_writer(settings, body))
    names = [r["operation_name"] for r in sql(url, "select operation_name from hub.audit_log where id > $1 "
                                                   "order by id", before)]
    assert names == ["Kept1", "Kept2", "Kept3"]


# --- shutdown ----------------------------------------------------------------------------------------

def test_close_flushes_the_queued_entries(db_settings) -> None:
    settings, _ = db_settings
    url = settings.database_url
    before = last_audit_id(url)

    async def go() -> None:
        db = await Databases(settings, settings.database_url).open()
        writer = AuditWriter(db.hub)
        holder = await asyncpg.connect(settings.database_url)
        try:
            await holder.execute("select pg_advisory_lock($1)", CHAIN_LOCK)
            waiters = [asyncio.ensure_future(writer.write(_entry(0, "Shut0")))]
            await wait_for_chain_waiter(holder)
            waiters += [asyncio.ensure_future(writer.write(_entry(i, f"Shut{i}"))) for i in range(1, 30)]
            closing = asyncio.ensure_future(writer.close())
            await asyncio.sleep(0.2)
            assert not closing.done() and writer.pending == 29  # close() waits for the queue
            await holder.execute("select pg_advisory_unlock($1)", CHAIN_LOCK)
            await closing
            assert all(w.done() and w.exception() is None for w in waiters)
            assert (writer.entries, writer.batches) == (30, 2)
        finally:
            await holder.close()
            await db.close()

    asyncio.run(go())
    assert _batches_after(url, before) == [1, 29]
    verify_chain_ok(url)


class _LockHolder:
    """The chain's advisory lock, held by a connection on an event loop of its own (a thread)."""

    def __init__(self, url: str):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.conn: asyncpg.Connection = self.run(asyncpg.connect(url))
        self.run(self.conn.execute("select pg_advisory_lock($1)", CHAIN_LOCK))

    def run(self, coro: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def wait_for_waiter(self) -> None:
        self.run(wait_for_chain_waiter(self.conn))

    def release_later(self, seconds: float) -> threading.Timer:
        timer = threading.Timer(seconds, lambda: self.run(self.conn.execute("select pg_advisory_unlock($1)",
                                                                             CHAIN_LOCK)))
        timer.start()
        return timer

    def close(self) -> None:
        self.run(self.conn.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture()
def lock_holder(db_settings) -> Iterator[Callable[[], _LockHolder]]:
    holders: list[_LockHolder] = []

    def take() -> _LockHolder:
        holders.append(_LockHolder(db_settings[0].database_url))
        return holders[-1]

    yield take
    for holder in holders:
        holder.close()


def test_the_app_s_shutdown_flushes_queued_entries_before_the_pools_close(db_settings, lock_holder) -> None:
    settings, tokens = db_settings
    url = settings.database_url
    before = last_audit_id(url)
    with client_with_token(settings, tokens["labor"]) as client:
        writer: AuditWriter = client.app.state.audit
        assert client.app.state.db.audit_writer is writer
        holder = lock_holder()
        futures = [client.portal.start_task_soon(writer.write, _entry(0, "Stop0"))]
        holder.wait_for_waiter()
        futures += [client.portal.start_task_soon(writer.write, _entry(i, f"Stop{i}")) for i in range(1, 20)]
        deadline = time.monotonic() + 10
        while writer.pending < 19:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        timer = holder.release_later(0.3)  # while the lifespan's shutdown waits in AuditWriter.close()
    timer.join()
    assert all(f.result(0) is None for f in futures)
    assert client.app.state.db.pools == {}  # the pools closed after the flush
    names = [r["operation_name"] for r in sql(url, "select operation_name from hub.audit_log where id > $1 "
                                                   "order by id", before)]
    assert names == [f"Stop{i}" for i in range(20)]
    assert _batches_after(url, before) == [1, 19]
    verify_chain_ok(url)


# --- through the app ---------------------------------------------------------------------------------

def test_concurrent_graphql_operations_share_batches_one_entry_each(db_settings, lock_holder) -> None:
    settings, tokens = db_settings
    url = settings.database_url
    query = "query Concurrent%d { catalog { name } }"
    with client_with_token(settings, tokens["labor"]) as client:
        client.post("/graphql", json={"query": "{ __typename }"})  # warm up: pools, caches
        writer: AuditWriter = client.app.state.audit
        before, batches = last_audit_id(url), writer.batches
        holder = lock_holder()
        responses: dict[int, Any] = {}

        def post(i: int) -> None:
            responses[i] = client.post("/graphql", json={"query": query % i})

        threads = [threading.Thread(target=post, args=(0,))]
        threads[0].start()
        holder.wait_for_waiter()  # operation 0's entry is in flight; the next 11 queue behind it
        threads += [threading.Thread(target=post, args=(i,)) for i in range(1, 12)]
        for t in threads[1:]:
            t.start()
        deadline = time.monotonic() + 20
        while writer.pending < 11:
            assert time.monotonic() < deadline, writer.pending
            time.sleep(0.01)
        holder.run(holder.conn.execute("select pg_advisory_unlock($1)", CHAIN_LOCK))
        for t in threads:
            t.join(30)
        assert writer.batches - batches == 2
    for i in range(12):
        body = responses[i].json()
        assert responses[i].status_code == 200 and "errors" not in body, body
        assert body["data"]["catalog"] is not None
    entries = sql(url, "select operation_name, operation_type, outcome, department, trace_id from hub.audit_log "
                       "where id > $1 order by id", before)
    assert sorted(e["operation_name"] for e in entries) == sorted(f"Concurrent{i}" for i in range(12))
    assert entries[0]["operation_name"] == "Concurrent0"
    by_name = {e["operation_name"]: e for e in entries}
    for i in range(12):
        e = by_name[f"Concurrent{i}"]
        assert (e["operation_type"], e["outcome"], e["department"]) == ("query", "OK", "labor")
        assert e["trace_id"] == responses[i].json()["extensions"]["traceId"]
    assert _batches_after(url, before) == [1, 11]
    verify_chain_ok(url)


# --- tracing -----------------------------------------------------------------------------------------

def test_each_waiter_gets_an_audit_span_and_the_batch_insert_is_one_sql_span(db_settings) -> None:
    settings, _ = db_settings
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    telemetry = Telemetry(provider, HubMetrics())

    async def operation(writer: AuditWriter, i: int) -> None:
        with telemetry.tracer.start_as_current_span(f"query Op{i}"):  # a trace of its own per operation
            await writer.write(_entry(i, f"Traced{i}"))

    async def go() -> AuditWriter:
        db = await Databases(settings, settings.database_url, telemetry=telemetry).open()
        writer = AuditWriter(db.hub)
        try:
            await asyncio.gather(*(operation(writer, i) for i in range(3)))
            await writer.write(_entry(9, "Untraced"))  # no recording span: no audit span, no SQL span
        finally:
            await writer.close()
            await db.close()
        return writer

    writer = asyncio.run(go())
    assert (writer.batches, writer.entries) == (2, 4)
    spans = exported.get_finished_spans()
    operations = {s.name: s for s in spans if s.name.startswith("query ")}
    audits = [s for s in spans if s.name == "audit"]
    inserts = [s for s in spans if s.name == "hub/audit_append"]
    assert len(audits) == 3 and len(inserts) == 1
    assert {a.parent.span_id for a in audits} == {o.context.span_id for o in operations.values()}
    assert all(a.attributes["hub.audit.batch_size"] == 3 for a in audits)
    [carrier] = [a for a in audits if a.context.span_id == inserts[0].parent.span_id]
    assert carrier.parent.span_id == operations["query Op0"].context.span_id  # the batch's first entry
    assert inserts[0].context.trace_id == carrier.context.trace_id
    others = [a for a in audits if a is not carrier]
    assert all([link.context for link in a.links] == [carrier.context] for a in others)
    assert inserts[0].attributes["db.system"] == "postgresql"


def test_the_stored_columns_are_parsed_from_the_hashed_content(db_settings) -> None:
    """hub.audit_append (migration 0026) takes each entry's content only and stores the columns parsed from it: every
    stored row, written back as content (hub.governance.audit_hash, as `hub audit verify` does), is exactly the
    text that was hashed — awkward strings, nulls, empty and 64-bit arrays included."""
    settings, _ = db_settings
    url = settings.database_url
    after = last_audit_id(url)
    entries = [_entry(i) for i in range(1, 13)]
    when, joined = batch_args(entries, dt.datetime(2026, 12, 5, 3, 4, 5, 678901, tzinfo=dt.timezone.utc))
    sql(url, strip_header((SQL_DIR / "queries" / f"{APPEND_QUERY}.sql").read_text()), when, joined)
    rows = sql(url, "select * from hub.audit_log where id > $1 order by id", after)
    rests = [entry_rest(e) for e in entries]
    assert len(rows) == len(entries) and joined == "\n".join(rests)
    assert [r["operation_name"] for r in rows] == [e.operation_name for e in entries]
    for row, rest in zip(rows, rests):
        hashed = f'{{"at": "{when}", "id": {row["id"]}' + rest
        assert content(row) == hashed
        assert row["hash"] == chain_hash(row["prev_hash"], hashed)
    assert [r["consumer_name"] for r in rows] == [e.consumer_name for e in entries]
    assert [list(r["grants"]) for r in rows] == [sorted(e.grants) for e in entries]
    verify_chain_ok(url)
