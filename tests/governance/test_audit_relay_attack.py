"""An attacker's review of the audit relay and the batch append (``hub.governance.audit_relay``,
``hub.governance.audit_writer``, migration 0026): each test is a way around "every operation leaves exactly one
audit entry, committed before the answer, hash-chained" that worked on the code before its fix.

Real PostgreSQL throughout (the relay tests' scratch database, ``tests/support/audit_relay.py``); the relay runs
in the test's event loop on a Unix socket in a temporary folder.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hub.db.pools import Databases
from hub.errors import ServiceUnavailable
from hub.governance import audit_relay
from hub.governance.audit import AuditEntry
from hub.governance.audit_relay import RelayServer, frame, read_frame
from hub.governance.audit_writer import UnbuildableEntry
from hub.governance.relay_client import reply_seconds
from hub.settings import Settings
from tests.support.audit_chain import CHAIN_LOCK, last_audit_id, verify_chain_ok
from tests.support.audit_relay import SECRET, relay_entry, relay_worker, with_relay
from tests.support.helpers import sql, sql_value



async def _holding_the_chain(url: str, writes: list[Any]) -> list[Any]:
    """Run ``writes`` (coroutines) while the chain's lock is held, so their entries meet in one batch."""
    holder = await asyncpg.connect(url)
    try:
        await holder.execute("select pg_advisory_lock($1)", CHAIN_LOCK)
        tasks = [asyncio.ensure_future(w) for w in writes]
        deadline = time.monotonic() + 10
        while not await holder.fetchval("select count(*) from pg_locks where locktype = 'advisory' "
                                        "and not granted and objid = $1", CHAIN_LOCK):
            assert time.monotonic() < deadline, "no batch waits for the chain's lock"
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the later frames reach the relay's queue (the next batch)
        await holder.execute("select pg_advisory_unlock($1)", CHAIN_LOCK)
        return await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await holder.close()


async def _raw_entry(path: str, fields: dict[str, Any]) -> Any:
    """What a process holding the run's secret gets for one hand-made entry frame."""
    reader, stream = await asyncio.open_unix_connection(path)
    try:
        stream.write(frame({"secret": SECRET}))
        assert (await read_frame(reader)) == {"ready": True}
        stream.write(frame({"n": 7, "e": fields}))
        return await asyncio.wait_for(read_frame(reader), 10)
    finally:
        stream.close()


@pytest.mark.parametrize("fields", [
    {"consumer_name": 5},  # stored as the text '5', hashed as the number 5
    {"consumer_id": "12"},  # stored as 12, hashed as the string "12"
    {"operation_type": ["query"]},  # stored as the text '["query"]'
    {"datasets": [1, 2]},  # stored as {1,2} (text[]), hashed as numbers
    {"error_codes": "OK"},  # a string where a list belongs
    {"denied": True},
], ids=["name-int", "id-str", "type-list", "datasets-ints", "codes-str", "denied-bool"])
def test_a_frame_with_wrongly_typed_fields_never_commits_an_entry_that_breaks_the_chain(
        relay_settings, tmp_path: Path, fields: dict[str, Any]) -> None:
    """jsonb_populate_record casts a JSON value to the column's type, so a field of the wrong type was stored
    differently from the content that was hashed: ``verify`` then reported the entry as altered (the log looked
    tampered with, for good). The relay must refuse such an entry (an error reply: the operation fails closed)."""
    settings, _ = relay_settings
    url = settings.database_url
    before = last_audit_id(url)

    async def body(relay: RelayServer, path: str, db: Databases) -> Any:
        return await _raw_entry(path, {"operation_type": "query", "operation_name": "Typed", **fields})

    reply = asyncio.run(with_relay(settings, tmp_path, body))
    assert reply["n"] == 7 and "error" in reply, reply
    assert sql_value(url, "select count(*) from hub.audit_log where id > $1", before) == 0
    verify_chain_ok(url)


def test_one_workers_unhashable_entry_does_not_fail_the_other_workers_entries_in_its_batch(
        relay_settings, tmp_path: Path) -> None:
    """An entry whose content cannot be rendered (a float among the datasets) made ``batch_args`` raise for the
    whole batch — not a database refusal, so no retry one by one: every other worker's operation in that batch
    failed closed."""
    settings, _ = relay_settings
    url = settings.database_url
    before = last_audit_id(url)

    async def body(relay: RelayServer, path: str, db: Databases) -> list[Any]:
        good = relay_worker(path, db)
        await good.write(relay_entry(6, 0))  # connected
        results = await _holding_the_chain(url, [
            good.write(relay_entry(6, 1)),  # the batch waiting for the lock
            _raw_entry(path, {"operation_type": "query", "operation_name": "Float", "datasets": [1.5]}),
            good.write(relay_entry(6, 2)), good.write(relay_entry(6, 3))])  # the next batch, with the float
        await good.close()
        return results

    first, bad, *rest = asyncio.run(with_relay(settings, tmp_path, body))
    assert first is None and rest == [None, None], (first, rest)
    assert "error" in bad
    names = sorted(r["operation_name"] for r in sql(url, "select operation_name from hub.audit_log where id > $1",
                                                    before))
    assert names == ["W6Op0", "W6Op1", "W6Op2", "W6Op3"]
    verify_chain_ok(url)


@pytest.mark.parametrize("big", [
    {"operation_name": "x" * (audit_relay.MAX_FRAME + 1)},  # a frame the relay refuses (HUB_MAX_BODY_BYTES > 1 MB)
    {"rows": {"labor.job_postings": 1 << 64}},  # orjson cannot encode it
], ids=["oversized", "int-over-64-bit"])
def test_an_entry_the_relay_cannot_take_fails_nobody_else_and_is_still_written(
        relay_settings, tmp_path: Path, big: dict[str, Any]) -> None:
    """A worker's entry whose frame is over ``MAX_FRAME`` made the relay drop the connection: every other
    operation of that worker waiting for its entry failed closed. An entry orjson cannot encode raised after its
    request was registered: the wait for it never ended, and ``close()`` hung for 60 s. Such an entry goes to the
    worker's own writer instead."""
    settings, _ = relay_settings
    url = settings.database_url
    before = last_audit_id(url)

    async def body(relay: RelayServer, path: str, db: Databases) -> tuple[list[Any], float, int, int]:
        worker = relay_worker(path, db)
        await worker.write(relay_entry(7, 0))
        odd = AuditEntry(operation_type="query", **{"operation_name": "Big", **big})
        results = await _holding_the_chain(url, [worker.write(relay_entry(7, 1)), worker.write(odd),
                                                 worker.write(relay_entry(7, 2))])
        started = time.monotonic()
        await asyncio.wait_for(worker.close(), 30)
        return results, time.monotonic() - started, worker.relayed, worker.fell_back

    results, closing, relayed, fell_back = asyncio.run(with_relay(settings, tmp_path, body))
    assert results == [None, None, None], results
    assert closing < 5 and (relayed, fell_back) == (3, 1)
    names = sorted(r["operation_name"][:4] for r in sql(url, "select operation_name from hub.audit_log "
                                                             "where id > $1", before))
    assert names == sorted(["W7Op", "W7Op", "W7Op", (big.get("operation_name") or "Big")[:4]])
    verify_chain_ok(url)


def test_an_entry_whose_content_cannot_be_built_fails_alone_in_its_batch(relay_settings) -> None:
    """The writer's own guard, under the relay's type checks: an entry ``batch_args`` cannot render (a float)
    failed its whole batch, every other operation's entry with it."""
    settings, _ = relay_settings
    url = settings.database_url
    before = last_audit_id(url)

    async def go() -> list[Any]:
        db = await Databases(settings, url).open()
        writer = audit_relay.AuditWriter(db.hub)
        try:
            odd = AuditEntry(operation_type="query", operation_name="Float", datasets=[1.5])  # type: ignore[list-item]
            return await _holding_the_chain(url, [writer.write(relay_entry(8, 0)), writer.write(relay_entry(8, 1)),
                                                  writer.write(odd), writer.write(relay_entry(8, 2))])
        finally:
            await writer.close()
            await db.close()

    first, second, odd, third = asyncio.run(go())
    assert (first, second, third) == (None, None, None)
    assert isinstance(odd, UnbuildableEntry) and "cannot hash a float" in str(odd)
    names = sorted(r["operation_name"] for r in sql(url, "select operation_name from hub.audit_log where id > $1",
                                                    before))
    assert names == ["W8Op0", "W8Op1", "W8Op2"]
    verify_chain_ok(url)


def test_an_operation_name_with_a_nul_character_still_leaves_its_entry(client, settings) -> None:
    """``operationName`` is the client's text, and PostgreSQL cannot store U+0000: the entry was refused and the
    answer (400, unknown operation) went out without it — a request that left no trace."""
    url = settings.database_url
    before = last_audit_id(url)
    response = client.post("/graphql", json={"query": "query Q { __typename }", "operationName": "a\x00b"})
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    rows = sql(url, "select operation_name, error_codes from hub.audit_log where id > $1", before)
    assert [(r["operation_name"], r["error_codes"]) for r in rows] == [("a\ufffdb", ["BAD_USER_INPUT"])]


@pytest.mark.parametrize("field,value", [
    ("document_hash", "\u0663" * 64),  # ARABIC-INDIC DIGIT THREE: a digit, not 0-9
    ("document_hash", "\uff10" * 64),  # FULLWIDTH DIGIT ZERO
    ("document_hash", "A" * 64),  # upper case
    ("document_hash", "0" * 63 + "\n"),  # '$' and a trailing newline
    ("document_hash", "é" * 32),  # 64 bytes, 32 characters
    ("trace_id", "0" * 31 + "g"),
], ids=["arabic-digits", "fullwidth", "upper", "newline", "bytes-not-chars", "trace-g"])
def test_the_rewritten_hex_checks_refuse_what_the_regexes_refused(relay_settings, field: str, value: str) -> None:
    """Held: migration 0026's checks (length and a negated class) refuse every such value, as '^[0-9a-f]{64}$'
    did; the entry fails alone."""
    settings, _ = relay_settings
    url = settings.database_url
    before = last_audit_id(url)

    async def go() -> Any:
        db = await Databases(settings, url).open()
        writer = audit_relay.AuditWriter(db.hub)
        try:
            odd = AuditEntry(operation_type="query", operation_name="Hex", **{field: value})
            return await asyncio.gather(writer.write(odd), writer.write(relay_entry(9, 0)), return_exceptions=True)
        finally:
            await writer.close()
            await db.close()

    odd, good = asyncio.run(go())
    assert good is None and isinstance(odd, Exception) and f"audit_log_{field}_check" in str(odd), odd
    assert [r["operation_name"] for r in sql(url, "select operation_name from hub.audit_log where id > $1",
                                             before)] == ["W9Op0"]


def test_a_relay_that_stops_answering_fails_the_operation_closed_instead_of_hanging(relay_settings,
                                                                                    tmp_path: Path) -> None:
    """A relay that takes the connection and the entries but never replies (stopped, or stuck): the worker waited
    for the reply for ever, and so did the operation, with no limit. It fails closed after ``reply_seconds``; the
    relay counts as lost, so the worker's next entries are written by its own writer."""
    settings, _ = relay_settings
    url = settings.database_url
    before = last_audit_id(url)
    path = str(tmp_path / "mute.sock")

    async def mute(reader: asyncio.StreamReader, stream: asyncio.StreamWriter) -> None:
        await read_frame(reader)  # the secret
        stream.write(frame({"ready": True}))
        while await reader.read(1 << 16):  # takes every entry, answers none
            pass

    async def go() -> tuple[Any, float]:
        server = await asyncio.start_unix_server(mute, path=path)
        db = await Databases(settings, url).open()
        worker = relay_worker(path, db)
        worker.reply_seconds = 0.5
        try:
            started = time.monotonic()
            failed = await asyncio.wait_for(asyncio.gather(worker.write(relay_entry(9, 0)), return_exceptions=True),
                                            10)
            waited = time.monotonic() - started
            await asyncio.wait_for(worker.write(relay_entry(9, 1)), 10)  # the worker's own writer
            return failed[0], waited
        finally:
            await worker.close()
            server.close()
            await db.close()

    failed, waited = asyncio.run(go())
    assert isinstance(failed, ServiceUnavailable) and waited < 5, (failed, waited)
    assert reply_seconds(Settings.from_env({})) == 40 and reply_seconds(
        Settings.from_env({"HUB_STATEMENT_TIMEOUT_MS": "60000"})) == 130  # longer than a working relay's batches
    names = [r["operation_name"] for r in sql(url, "select operation_name from hub.audit_log where id > $1", before)]
    assert names == ["W9Op1"]
    verify_chain_ok(url)
