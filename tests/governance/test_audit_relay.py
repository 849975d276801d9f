"""The audit relay (``hub.governance.audit_relay``): one writer for the entries of every worker of a host.

Real PostgreSQL throughout (a scratch database of its own); the relay server runs in the test's event loop on
a Unix socket in a temporary folder, the "workers" are ``RelayClient``\\ s; the last test starts a real
``hub serve --workers 2``. Batches are told apart by ``xmin`` (one transaction each), as in
``test_audit_writer.py``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hub.db.pools import Databases
from hub.errors import ServiceUnavailable
from hub.governance import audit_relay, relay_client
from hub.governance.audit import AuditEntry
from hub.governance.audit_relay import RelayServer, frame
from hub.governance.audit_writer import AuditWriter
from hub.settings import Settings
from hub.telemetry.tracing import Telemetry
from tests.support.audit_chain import CHAIN_LOCK, last_audit_id, verify_chain_ok
from tests.support.audit_relay import SECRET, relay_entry, relay_worker, with_relay
from tests.support.helpers import sql, sql_value
from tests.support.live import free_port, stop_served, worker_processes

def test_the_entries_of_two_workers_are_written_in_common_batches(relay_settings, tmp_path: Path) -> None:
    settings, _ = relay_settings
    url = settings.database_url
    before = last_audit_id(url)

    async def body(relay: RelayServer, path: str, db: Databases) -> tuple[int, int]:
        workers = [relay_worker(path, db), relay_worker(path, db)]
        await asyncio.gather(*(w.write(relay_entry(n, i)) for i in range(100) for n, w in enumerate(workers, 1)))
        for w in workers:
            await w.close()
        return sum(w.relayed for w in workers), sum(w.fell_back for w in workers)

    relayed, fell_back = asyncio.run(with_relay(settings, tmp_path, body))
    assert (relayed, fell_back) == (200, 0)
    rows = sql(url, "select xmin::text as tx, consumer_id, operation_name from hub.audit_log where id > $1 "
                    "order by id", before)
    assert len(rows) == 200 and {r["operation_name"] for r in rows} == {f"W{n}Op{i}" for n in (1, 2)
                                                                         for i in range(100)}
    batches: dict[str, set[int]] = {}
    for r in rows:
        batches.setdefault(r["tx"], set()).add(r["consumer_id"])
    assert len(batches) < 20  # 200 entries in a few calls, not one each
    assert any(consumers == {1, 2} for consumers in batches.values())  # both workers' entries in one batch
    verify_chain_ok(url)


def test_without_the_secret_nothing_is_written_and_the_worker_writes_its_own(relay_settings, tmp_path: Path) -> None:
    settings, _ = relay_settings
    url = settings.database_url
    before = last_audit_id(url)

    async def body(relay: RelayServer, path: str, db: Databases) -> tuple[bytes, int, int, int]:
        # A stranger on the machine: a wrong secret, then an entry frame anyway.
        reader, stream = await asyncio.open_unix_connection(path)
        stream.write(frame({"secret": "guess"}) + frame({"n": 1, "e": {"operation_name": "Forged"}}))
        await stream.drain()
        answer = await asyncio.wait_for(reader.read(), 5)  # closed without a reply
        stream.close()
        # No hello at all, an oversized frame: closed too.
        reader, stream = await asyncio.open_unix_connection(path)
        stream.write((1 << 30).to_bytes(4, "big"))
        await stream.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        stream.close()
        worker = relay_worker(path, db, secret="not the run's secret")
        await worker.write(relay_entry(3, 1))  # the relay refuses the connection: the fallback writer writes it
        await worker.close()
        return answer, relay.refused, worker.relayed, worker.fell_back

    answer, refused, relayed, fell_back = asyncio.run(with_relay(settings, tmp_path, body))
    assert answer == b"" and refused == 3
    assert (relayed, fell_back) == (0, 1)
    names = [r["operation_name"] for r in sql(url, "select operation_name from hub.audit_log where id > $1", before)]
    assert names == ["W3Op1"]  # nothing forged


def test_a_lost_relay_fails_the_waiting_operations_closed_then_the_worker_writes_its_own(
        relay_settings, tmp_path: Path, monkeypatch) -> None:
    settings, _ = relay_settings
    url = settings.database_url
    monkeypatch.setattr(relay_client, "RETRY_SECONDS", 0.2)
    before = last_audit_id(url)

    async def body(relay: RelayServer, path: str, db: Databases) -> list[Any]:
        worker = relay_worker(path, db)
        await worker.write(relay_entry(4, 0))  # connected, relayed
        holder = await asyncpg.connect(url)
        try:
            await holder.execute("select pg_advisory_lock($1)", CHAIN_LOCK)  # the relay's batch waits
            waiting = [asyncio.ensure_future(worker.write(relay_entry(4, i))) for i in (1, 2)]
            deadline = time.monotonic() + 10
            while not await holder.fetchval("select count(*) from pg_locks where locktype = 'advisory' "
                                            "and not granted and objid = $1", CHAIN_LOCK):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            worker._stream.transport.abort()  # the connection to the relay breaks (a crash, a restart)
            results = await asyncio.gather(*waiting, return_exceptions=True)
            await holder.execute("select pg_advisory_unlock($1)", CHAIN_LOCK)
        finally:
            await holder.close()
        await worker.write(relay_entry(4, 3))  # within the retry window: its own writer
        await asyncio.sleep(0.3)
        await worker.write(relay_entry(4, 4))  # after it: the relay again
        await relay.drain()
        await worker.close()
        return [results, worker.relayed, worker.fell_back]

    results, relayed, fell_back = asyncio.run(with_relay(settings, tmp_path, body))
    # Sent but not confirmed: they fail closed (the relay may still have written them — it did here).
    assert all(isinstance(r, ServiceUnavailable) and "audit relay unavailable" in str(r) for r in results)
    assert (relayed, fell_back) == (2, 1)
    names = sorted(r["operation_name"] for r in sql(url, "select operation_name from hub.audit_log where id > $1",
                                                    before))
    assert names == ["W4Op0", "W4Op1", "W4Op2", "W4Op3", "W4Op4"]
    verify_chain_ok(url)


def test_a_refused_entry_fails_only_its_operation(relay_settings, tmp_path: Path) -> None:
    settings, _ = relay_settings

    async def body(relay: RelayServer, path: str, db: Databases) -> list[Any]:
        worker = relay_worker(path, db)
        bad = AuditEntry(operation_type="query", outcome="MAYBE")  # the table's check refuses it
        results = await asyncio.gather(worker.write(bad), worker.write(relay_entry(5, 1)), return_exceptions=True)
        await worker.close()
        return results

    bad, good = asyncio.run(with_relay(settings, tmp_path, body))
    assert isinstance(bad, ServiceUnavailable) and "audit_log_outcome_check" in str(bad)
    assert good is None


def test_hub_serve_with_two_workers_writes_through_one_relay(relay_settings, tmp_path: Path) -> None:
    settings, tokens = relay_settings
    url = settings.database_url
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"DATABASE_URL": url, "HUB_ENV": "test", "HUB_DATA_DIR": str(tmp_path / "data"),
                "HUB_RATE_LIMIT_PER_SECOND": "0", "HUB_METRICS": "false", "HUB_LOG_FORMAT": "text", "HUB_AUDIT_RELAY": "true",
                "OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "none"})
    log_path = tmp_path / "hub.log"
    before = last_audit_id(url)
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "hub"), "serve", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", "2"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while log_path.read_text().count("Application startup complete") < 2:
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        children = psutil.Process(proc.pid).children()
        relays = [c for c in children if "audit_relay" in " ".join(c.cmdline())]
        assert len(relays) == 1 and len(worker_processes(proc)) == 2
        socket_path = Path(relays[0].cmdline()[-1])
        assert socket_path.exists() and oct(socket_path.stat().st_mode & 0o777) == "0o600"
        assert oct(socket_path.parent.stat().st_mode & 0o777) == "0o700"
        token = next(iter(tokens.values()))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            for _ in range(20):
                assert client.post("/graphql", json={"query": "{ __typename }"}).status_code == 200
        # The relay's own connection wrote the entries: none of the workers holds the chain's lock to write.
        assert sql_value(url, "select count(*) from hub.audit_log where id > $1", before) == 20
    finally:
        stop_served(proc)
    assert proc.returncode == 0, log_path.read_text()
    assert not relays[0].is_running() and not socket_path.parent.exists()
    assert "audit relay" not in log_path.read_text()  # never unavailable, never lost
    verify_chain_ok(url)


def test_the_relay_s_spans_join_the_worker_s_trace(relay_settings, tmp_path: Path) -> None:
    """The worker's ``audit`` span travels with the entry: the relay's ``audit`` span of that entry is its child
    (same trace), and the batch's ``hub/audit_append`` call is under the relay span of the batch's first entry."""
    settings, _ = relay_settings
    providers, exported = {}, {}
    for side in ("worker", "relay"):
        exported[side] = InMemorySpanExporter()
        providers[side] = TracerProvider()
        providers[side].add_span_processor(SimpleSpanProcessor(exported[side]))
    worker_telemetry, relay_telemetry = Telemetry(providers["worker"]), Telemetry(providers["relay"])

    async def go() -> None:
        relay_db = await Databases(settings, settings.database_url, telemetry=relay_telemetry).open()
        worker_db = await Databases(settings, settings.database_url, telemetry=worker_telemetry).open()
        writer = AuditWriter(relay_db.hub)
        relay = RelayServer(writer, SECRET)
        path = str(tmp_path / "relay.sock")
        server = await asyncio.start_unix_server(relay.handle, path=path)
        worker = relay_worker(path, worker_db)
        try:
            async def operation(i: int) -> None:
                with worker_telemetry.tracer.start_as_current_span(f"query Op{i}"):
                    await worker.write(relay_entry(6, i))

            await asyncio.gather(*(operation(i) for i in range(3)))
        finally:
            await worker.close()
            server.close()
            await relay.drain()
            await writer.close()
            await relay_db.close()
            await worker_db.close()

    asyncio.run(go())
    worker_audits = [s for s in exported["worker"].get_finished_spans() if s.name == "audit"]
    relay_spans = exported["relay"].get_finished_spans()
    relay_audits = [s for s in relay_spans if s.name == "audit"]
    inserts = [s for s in relay_spans if s.name == "hub/audit_append"]
    assert len(worker_audits) == 3 and len(relay_audits) == 3 and inserts
    assert all(s.attributes["hub.audit.relay"] is True for s in worker_audits + relay_audits)
    assert {(s.parent.trace_id, s.parent.span_id) for s in relay_audits} == {
        (w.context.trace_id, w.context.span_id) for w in worker_audits}
    for insert in inserts:
        assert insert.parent.span_id in {a.context.span_id for a in relay_audits}
        assert insert.context.trace_id in {w.context.trace_id for w in worker_audits}


def test_the_relay_stops_when_hub_serve_is_killed(relay_settings, tmp_path: Path) -> None:
    """SIGKILL of `hub serve` leaves no relay behind: it notices its parent is gone and stops (within seconds)."""
    settings, _ = relay_settings
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HUB_")}, "DATABASE_URL": settings.database_url,
           "HUB_ENV": "test"}
    # A stand-in for hub serve: a process that starts the relay as hub serve does, then is killed.
    code = ("import os, time\n"
            "from hub.governance import audit_relay\n"
            "with audit_relay.started(os.environ) as path:\n"
            "    print(path, flush=True)\n"
            "    time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
    try:
        socket_path = Path(parent.stdout.readline().strip())
        [relay] = [c for c in psutil.Process(parent.pid).children() if "audit_relay" in " ".join(c.cmdline())]
        assert socket_path.exists()
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        relay.wait(timeout=15)  # psutil: raises TimeoutExpired if it is still running
    finally:
        if parent.poll() is None:
            parent.kill()


def test_the_relay_is_off_by_default() -> None:
    """Measured on the bench (docs/performance.md, "The audit write"): the relay halves the audit's database time
    per request but costs the host more CPU than it saves, so `hub serve --workers N` starts none unless asked."""
    assert Settings.from_env({}).audit_relay is False
    assert Settings.from_env({"HUB_AUDIT_RELAY": "true"}).audit_relay is True


def test_frames_are_split_alike_however_the_stream_cuts_them() -> None:
    """``Frames`` takes every complete frame of a read (under load one read holds many operations' entries):
    cut at any byte, the messages are the same and in order; a frame arriving in pieces waits for its end."""
    messages = [{"n": i, "e": {"operation_name": "名" * i}} for i in range(5)]
    stream = b"".join(frame(m) for m in messages)
    for cut in range(1, len(stream)):
        frames = audit_relay.Frames()
        got = [*frames.feed(stream[:cut]), *frames.feed(stream[cut:])]
        assert got == messages, cut
    frames = audit_relay.Frames()
    assert [m for b in stream for m in frames.feed(bytes([b]))] == messages  # one byte per read


def test_a_malformed_frame_ends_the_stream_after_the_frames_before_it() -> None:
    good = frame({"n": 1}) + frame({"n": 2})
    for bad in (audit_relay._LENGTH.pack(3) + b"{x}", audit_relay._LENGTH.pack(audit_relay.MAX_FRAME + 1)):
        frames = audit_relay.Frames()
        got = []
        try:
            for message in frames.feed(good + bad):
                got.append(message)
        except ValueError:
            pass
        else:
            raise AssertionError("a malformed frame was taken")
        assert got == [{"n": 1}, {"n": 2}]
