"""A worker's side of the audit relay (``hub.governance.audit_relay``): hands each entry to the relay process,
waits for its reply (sent once the entry's batch has committed), and writes through the worker's own
``AuditWriter`` while the relay cannot be reached."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from opentelemetry import trace

from hub.errors import ServiceUnavailable
from hub.governance.audit import AuditEntry
from hub.governance.audit_relay import (
    CONNECT_SECONDS, LENGTH_BYTES, MAX_FRAME, SECRET_ENV, SOCKET_ENV, UNAVAILABLE, Outbox, frame, frames_of,
    read_frame,
)
from hub.governance.audit_writer import AuditWriter
from hub.telemetry.tracing import record_error

log = logging.getLogger("hub.audit")

RETRY_SECONDS = 1.0  # after a failed connection, the worker writes its own entries this long before trying again
# Shortest limit of the wait for the relay's reply to an entry (``reply_seconds``): past it the relay is stopped or
# stuck: the operation fails closed, the connection counts as lost.
REPLY_SECONDS = 30.0


def reply_seconds(settings: Any) -> float:
    """The limit of the wait for a reply: longer than two batches of a working relay can take (the one being
    written and the entry's own; each gets a pool connection within HUB_POOL_ACQUIRE_TIMEOUT_MS and runs within
    HUB_STATEMENT_TIMEOUT_MS), at least ``REPLY_SECONDS``."""
    return max(REPLY_SECONDS, 2 * (settings.pool_acquire_timeout_ms + settings.statement_timeout_ms) / 1000)


class RelayClient:
    """A worker's audit writer when ``hub serve`` started a relay: ``write`` and ``close`` as ``AuditWriter``'s."""

    def __init__(self, path: str, secret: str, fallback: AuditWriter, reply_seconds: float = REPLY_SECONDS):
        self.path = path
        self.fallback = fallback  # this process's own writer, while the relay cannot be reached
        self._secret = secret
        self._stream: asyncio.StreamWriter | None = None
        self._outbox: Outbox | None = None
        self._reader_task: asyncio.Task | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._next = 0
        self._retry_at = 0.0
        self._connecting: asyncio.Lock | None = None
        self._closed = False
        self.reply_seconds = reply_seconds  # longest wait for the relay's reply to an entry
        self.relayed = 0  # entries the relay confirmed
        self.fell_back = 0  # entries written by the fallback writer

    @classmethod
    def from_env(cls, fallback: AuditWriter, environ: Any = os.environ,
                 reply_seconds: float = REPLY_SECONDS) -> "RelayClient | None":
        path, secret = environ.get(SOCKET_ENV), environ.get(SECRET_ENV)
        return cls(path, secret, fallback, reply_seconds) if path and secret else None

    @property
    def connected(self) -> bool:
        return self._stream is not None

    async def write(self, entry: AuditEntry) -> None:
        """Hand ``entry`` to the relay and wait until it has committed (or write it with the fallback writer when
        the relay cannot be reached); raises when it could not be written (callers fail closed)."""
        if self._closed:
            raise RuntimeError("the audit writer is closed")
        if self._stream is None and not await self._connect():
            self.fell_back += 1
            await self.fallback.write(entry)
            return
        number = self._next
        message: dict[str, Any] = {"n": number, "e": entry}  # orjson writes the dataclass's fields itself
        span = None
        if self.fallback.department.telemetry is not None and trace.get_current_span().is_recording():
            span = self.fallback.department.telemetry.tracer.start_span("audit", attributes={"hub.audit.relay": True})
            carried = span.get_span_context()
            message["t"] = [format(carried.trace_id, "032x"), format(carried.span_id, "016x"), int(carried.trace_flags)]
        try:
            data = frame(message)
            if len(data) - LENGTH_BYTES > MAX_FRAME:
                raise ValueError(f"a frame of {len(data)} bytes")
        except (TypeError, ValueError):
            # Not for the relay (orjson cannot encode it: an int over 64 bits; or over MAX_FRAME, which would make
            # the relay drop the connection and fail every other operation waiting on it): this process's writer.
            if span is not None:
                span.end()
            self.fell_back += 1
            await self.fallback.write(entry)
            return
        self._next += 1
        loop = asyncio.get_running_loop()
        done = self._pending[number] = loop.create_future()
        self._outbox.put(data)
        silence = loop.call_later(self.reply_seconds, self._no_reply, self._stream)
        try:
            error = await done
        except BaseException as exc:
            if span is not None:
                record_error(span, exc)
            raise
        finally:
            silence.cancel()
            if span is not None:
                span.end()
        if error is not None:
            raise ServiceUnavailable(f"{UNAVAILABLE}: {error}" if error != UNAVAILABLE else UNAVAILABLE)
        self.relayed += 1

    async def _connect(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._stream is not None:
                return True
            if time.monotonic() < self._retry_at:
                return False
            try:
                reader, stream = await asyncio.wait_for(asyncio.open_unix_connection(self.path), CONNECT_SECONDS)
                stream.write(frame({"secret": self._secret}))
                ready = await asyncio.wait_for(read_frame(reader), CONNECT_SECONDS)
                if not (isinstance(ready, dict) and ready.get("ready") is True):
                    raise ConnectionError("the relay did not accept the connection")
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, TimeoutError, ValueError) as exc:
                self._retry_at = time.monotonic() + RETRY_SECONDS
                log.warning("audit relay at %s unavailable (%s): this worker writes its own audit entries for "
                            "the next %.0f s", self.path, exc, RETRY_SECONDS)
                return False
            self._stream, self._outbox = stream, Outbox(stream)
            self._reader_task = asyncio.ensure_future(self._read(reader, stream))
            return True

    async def _read(self, reader: asyncio.StreamReader, stream: asyncio.StreamWriter) -> None:
        try:
            async for reply in frames_of(reader):
                done = self._pending.pop(reply.get("n"), None) if isinstance(reply, dict) else None
                if done is not None and not done.done():
                    done.set_result(reply.get("error"))
        except Exception as exc:  # noqa: BLE001 - EOF, a reset, a malformed reply: the connection is over
            if not self._closed:
                log.error("audit relay connection lost (%s): %d operation(s) waiting for their entries fail "
                          "closed; this worker writes its own entries meanwhile", exc or type(exc).__name__,
                          len(self._pending))
        finally:
            self._lost(stream)

    def _no_reply(self, stream: asyncio.StreamWriter) -> None:
        """An entry sent on ``stream`` had no reply within ``reply_seconds``: the relay is stopped or stuck."""
        if self._stream is stream:
            log.error("the audit relay at %s did not reply within %.0f s: %d operation(s) waiting for their entries "
                      "fail closed; this worker writes its own entries meanwhile", self.path, self.reply_seconds,
                      len(self._pending))
            self._lost(stream)

    def _lost(self, stream: asyncio.StreamWriter) -> None:
        if self._stream is stream:
            self._stream, self._outbox, self._reader_task = None, None, None
            self._retry_at = time.monotonic() + RETRY_SECONDS
        stream.close()
        pending, self._pending = self._pending, {}
        for done in pending.values():  # sent, not confirmed: whether they committed is unknown
            if not done.done():
                done.set_result(UNAVAILABLE)

    async def close(self) -> None:
        """Wait for the replies to every entry sent, then close the connection and the fallback writer."""
        await asyncio.sleep(0)  # let cancelled operations' writes (scheduled just before) send theirs
        if self._pending:
            await asyncio.wait(set(self._pending.values()), timeout=60)
        self._closed = True
        if self._stream is not None:
            self._outbox.flush()
            self._lost(self._stream)
        await self.fallback.close()
