"""One audit writer for all the workers of a host (``hub serve --workers N``, ``HUB_AUDIT_RELAY``).

Each worker process has its group-commit writer (``hub.governance.audit_writer``): it writes the entries of
its own concurrent operations in one call. With several workers the batches stay small (each worker sees
only its share of the operations in flight) and each batch waits for the chain's lock while another
worker's batch commits; the database's cost per entry is mostly each call's fixed cost (the lock, the newest
entry, the transaction and its commit: docs/performance.md, "The audit write"). The relay is a process of
its own, started by ``hub serve`` before the workers and stopped after them, that holds the one writer of
the host: the workers hand their entries to it over a Unix socket and it writes the entries of all of them
in common batches, so there are fewer, larger batches and no worker waits for another's lock.

Nothing about the audit's guarantees changes:

* an operation answers only after its entry has committed: a worker waits for the relay's reply to each
  entry, which the relay sends only when the batch holding the entry has committed (``AuditWriter.write``
  returned); an entry the database refused gets an error reply and the operation fails closed;
* an entry the relay received is written even when the worker's operation was cancelled meanwhile;
* when the relay cannot be reached (not started, stopped, crashed), the operations whose entries were sent
  and not answered fail closed (SERVICE_UNAVAILABLE: whether their entries committed is unknown), and the
  worker writes later entries through its own writer (``fallback``), trying the relay again at most once
  per ``RETRY_SECONDS``: the hub keeps serving, audited, with its own writers.

Only the hub's workers can hand in entries: the socket lives in a private temporary directory (mode 0700,
the socket 0600) and a connection must first present the run's secret (``SECRET_ENV``, random per run,
inherited by the workers through their environment) or it is closed without a reply. A frame is a 4-byte
length and an orjson object: ``{"secret"}`` once, then ``{"n": <request>, "e": <entry fields>}`` from the
worker and ``{"n"}`` or ``{"n", "error"}`` from the relay. Hand-written on asyncio streams: the protocol is
a few lines and every library for it (multiprocessing managers, an HTTP server) costs more per entry than
what the relay saves.

The worker's side is ``hub.governance.relay_client.RelayClient``.

Tracing: the worker's ``audit`` span covers the wait for the relay's reply and travels with the entry
(``"t"``: trace id and span id in hex, flags); the relay, which exports spans as the ``OTEL_*`` variables say like the
workers do, puts its own ``audit`` span for the entry under it, and the batch's ``hub/audit_append`` call under
the batch's first such span, as the workers' own writers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hmac
import logging
import os
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import orjson
import uvloop
from opentelemetry import trace

from hub.db.pools import Databases
from hub.errors import SetupError
from hub.governance.audit import AuditEntry
from hub.governance.audit_writer import AuditWriter
from hub.settings import Settings
from hub.telemetry.tracing import Telemetry, provider_from_env

log = logging.getLogger("hub.audit")

SOCKET_ENV = "HUB_AUDIT_RELAY_SOCKET"
SECRET_ENV = "HUB_AUDIT_RELAY_SECRET"
CONNECT_SECONDS = 2.0
MAX_FRAME = 1 << 20  # an entry is a few hundred bytes; anything near this is not one
UNAVAILABLE = "audit relay unavailable"
_LENGTH = struct.Struct("!I")
LENGTH_BYTES = _LENGTH.size
READ_BYTES = 1 << 16
_FIELDS = frozenset(f.name for f in dataclasses.fields(AuditEntry))


def frame(message: dict[str, Any]) -> bytes:
    data = orjson.dumps(message)
    return _LENGTH.pack(len(data)) + data


async def read_frame(reader: asyncio.StreamReader) -> Any:
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    if length > MAX_FRAME:
        raise ValueError(f"a frame of {length} bytes")
    return orjson.loads(await reader.readexactly(length))


class Frames:
    """The frames of one stream, split from what each read returned: every complete frame of a read at once (one
    await per read, not two per frame: under load one read holds the frames of many operations)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Any]:
        """The messages completed by ``data``, one by one (a malformed one raises ValueError when reached, after
        the ones before it were taken)."""
        buffer = self._buffer
        buffer += data
        start = 0
        try:
            while len(buffer) - start >= LENGTH_BYTES:
                (length,) = _LENGTH.unpack_from(buffer, start)
                if length > MAX_FRAME:
                    raise ValueError(f"a frame of {length} bytes")
                end = start + LENGTH_BYTES + length
                if len(buffer) < end:
                    break
                message = orjson.loads(bytes(buffer[start + LENGTH_BYTES:end]))
                start = end
                yield message
        finally:
            del buffer[:start]


async def frames_of(reader: asyncio.StreamReader) -> AsyncIterator[Any]:
    """Every message of ``reader`` until it ends (IncompleteReadError, as ``read_frame`` raises at the end)."""
    frames = Frames()
    while True:
        data = await reader.read(READ_BYTES)
        if not data:
            raise asyncio.IncompleteReadError(b"", None)
        for message in frames.feed(data):
            yield message


def span_context_of(carried: Any) -> trace.SpanContext | None:
    """The worker's ``audit`` span as a frame carries it (``[trace id hex, span id hex, flags]``), or None."""
    try:
        trace_id, span_id, flags = carried
        context = trace.SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True,
                                    trace_flags=trace.TraceFlags(int(flags) & 0xFF))
    except (TypeError, ValueError):
        return None
    return context if context.is_valid else None


def _texts(value: Any) -> bool:
    return type(value) is list and all(type(v) is str for v in value)


# The JSON type each field must have. The database stores the columns it parses from the hashed content
# (migration 0026, jsonb_populate_record), casting each value to its column's type: a number where a text belongs
# would be stored as its digits but hashed as a number, and ``hub audit verify`` would call the entry altered.
_KINDS: dict[str, Any] = {
    **{name: lambda v: type(v) is str for name in ("outcome", "operation_type")},
    **{name: lambda v: v is None or type(v) is str
       for name in ("operation_name", "document_hash", "department", "consumer_name", "trace_id")},
    "consumer_id": lambda v: v is None or type(v) is int,
    **{name: _texts for name in ("datasets", "masked_fields", "denied", "error_codes")},
    "grants": lambda v: type(v) is list and all(type(g) is int for g in v),
    "rows": lambda v: type(v) is dict and all(type(n) is int for n in v.values()),
}
assert set(_KINDS) == _FIELDS, "every field of AuditEntry has its JSON type here"


def entry_of(fields: Any) -> AuditEntry:
    """The ``AuditEntry`` a worker sent (its dataclass fields, each of its JSON type); ValueError for anything
    else (the worker's operation fails closed)."""
    if not isinstance(fields, dict) or not set(fields) <= _FIELDS:
        raise ValueError("not an audit entry")
    wrong = sorted(name for name, value in fields.items() if not _KINDS[name](value))
    if wrong:
        raise ValueError(f"audit entry fields of the wrong type: {', '.join(wrong)}")
    return AuditEntry(**fields)


class Outbox:
    """Frames to one stream, written once per event-loop turn (one send for all the replies of a batch)."""

    def __init__(self, stream: asyncio.StreamWriter):
        self.stream = stream
        self.frames: list[bytes] = []

    def put(self, data: bytes) -> None:
        if not self.frames:
            asyncio.get_running_loop().call_soon(self.flush)
        self.frames.append(data)

    def flush(self) -> None:
        data, self.frames = b"".join(self.frames), []
        if data and not self.stream.is_closing():
            self.stream.write(data)


# --- the relay (its own process) -------------------------------------------------------------------------

class RelayServer:
    """Takes the workers' entries and writes them through one ``AuditWriter``."""

    def __init__(self, writer: AuditWriter, secret: str):
        self.writer = writer
        self._secret = secret.encode()
        self._writes: set[asyncio.Future] = set()  # entries queued with the writer, not yet answered
        self.refused = 0  # connections closed for a missing or wrong secret, or a malformed frame

    async def handle(self, reader: asyncio.StreamReader, stream: asyncio.StreamWriter) -> None:
        outbox = Outbox(stream)
        try:
            hello = await asyncio.wait_for(read_frame(reader), CONNECT_SECONDS)
            given = hello.get("secret") if isinstance(hello, dict) else None
            if not isinstance(given, str) or not hmac.compare_digest(given.encode(), self._secret):
                self.refused += 1
                return
            outbox.put(frame({"ready": True}))
            async for message in frames_of(reader):
                number = message.get("n") if isinstance(message, dict) else None
                if not isinstance(number, int):
                    raise ValueError("a frame without its request number")
                self._take(number, message.get("e"), message.get("t"), outbox)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker went away; what it sent is still written
        except (ValueError, TimeoutError, orjson.JSONDecodeError, asyncio.TimeoutError):
            self.refused += 1
        finally:
            stream.close()

    def _take(self, number: int, fields: Any, parent: Any, outbox: Outbox) -> None:
        """Queue one worker's entry with the writer; its reply goes out when its batch has committed (no task per
        entry: a callback on the writer's future)."""
        try:
            done = self.writer.submit(entry_of(fields), parent=span_context_of(parent))
        except Exception as exc:  # noqa: BLE001 - not an entry (or the writer is closed): the worker fails closed
            outbox.put(frame({"n": number, "error": f"{type(exc).__name__}: {exc}"}))
            return
        self._writes.add(done)
        done.add_done_callback(functools.partial(self._reply, number, outbox))

    def _reply(self, number: int, outbox: Outbox, done: asyncio.Future) -> None:
        self._writes.discard(done)
        if done.cancelled():  # the writer stopped before the batch was written: unknown to the worker, closed
            reply: dict[str, Any] = {"n": number, "error": UNAVAILABLE}
        elif (exc := done.exception()) is not None:
            reply = {"n": number, "error": f"{type(exc).__name__}: {exc}"}
        else:
            reply = {"n": number}
        outbox.put(frame(reply))

    async def drain(self) -> None:
        """Until every entry received so far is written (or refused)."""
        while self._writes:
            await asyncio.wait(set(self._writes))


async def run_relay(settings: Any, path: str, secret: str) -> None:
    """The relay process's life: serve ``path`` until SIGTERM, then write what was received and stop."""
    telemetry = Telemetry(provider_from_env(environment=settings.env), owns_provider=True)
    db = await Databases(settings, settings.database_url, telemetry=telemetry).open()
    writer = AuditWriter(db.hub)
    relay = RelayServer(writer, secret)
    server = await asyncio.start_unix_server(relay.handle, path=path)
    os.chmod(path, 0o600)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    orphaned = asyncio.ensure_future(_until_orphaned(stop))
    try:
        await stop.wait()
    finally:
        orphaned.cancel()
        server.close()
        await relay.drain()
        await writer.close()
        await db.close()
        telemetry.flush()


async def _until_orphaned(stop: asyncio.Event, every: float = 1.0) -> None:
    """Stop when ``hub serve`` is gone without stopping the relay (killed): its workers are gone too."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(every)
    log.error("hub serve (process %d) is gone: the audit relay writes what it received and stops", parent)
    stop.set()


def main() -> None:
    """``python -m hub.governance.audit_relay SOCKET`` (started by ``hub serve``; settings and secret from the
    environment). Ctrl-C in a terminal reaches every process of the group: the relay ignores it and SIGHUP, and
    stops on the SIGTERM ``hub serve`` sends once its workers have stopped."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # uvloop, as the workers run under uvicorn: the relay is all socket work (measured: the standard loop's
    # selector and transports were over half of its CPU).
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run_relay(Settings.from_env(os.environ), sys.argv[1], os.environ[SECRET_ENV]))


@contextlib.contextmanager
def started(environ: dict[str, str] | Any = os.environ, timeout: float = 60.0) -> Iterator[Path]:
    """Start the relay for the workers ``hub serve`` is about to start (they find it through ``environ``), and
    stop it after them (SIGTERM: it writes what it received first)."""
    folder = Path(tempfile.mkdtemp(prefix="hub-audit-"))  # mode 0700
    path = folder / "relay.sock"
    secret = secrets.token_hex(32)
    environ[SECRET_ENV] = secret
    proc = subprocess.Popen([sys.executable, "-m", "hub.governance.audit_relay", str(path)],
                            env={**environ, SECRET_ENV: secret}, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while not path.exists():
            if proc.poll() is not None:
                raise SetupError(f"the audit relay stopped at start (exit {proc.returncode}); see the log above")
            if time.monotonic() > deadline:
                raise SetupError(f"the audit relay did not start within {timeout:.0f} s")
            time.sleep(0.05)
        environ[SOCKET_ENV] = str(path)
        yield path
    finally:
        environ.pop(SOCKET_ENV, None)
        environ.pop(SECRET_ENV, None)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                log.error("the audit relay did not stop within 60 s after its workers; killed")
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
