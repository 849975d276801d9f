"""Group commit for the audit log: one INSERT statement (one transaction, one WAL flush) per batch of entries.

The chain trigger (``sql/migrations/0007_audit.sql``) serialises every audit writer on one advisory lock
until its commit, so one INSERT per operation caps the whole process at one commit per operation.
``AuditWriter`` queues the entries of concurrent operations and writes them in order with ONE statement
(``sql/queries/hub/audit_insert_many.sql``); the row trigger sees the rows the statement inserted before
it, so the chain stays one chain. ``write(entry)`` returns only when the batch holding the entry has
committed and raises the error otherwise (callers fail closed as before). When a batch fails, its entries
are tried again one by one, so only the entries the database refuses (or all, while it is down) fail. One batch is in flight at a time; entries arriving meanwhile form the next batch
(at most ``max_batch``). There is no timer: an idle writer starts a batch at once, so a lone operation
waits no longer than with its own INSERT.

The app owns one writer per process (``hub.app`` lifespan: ``Databases.audit_writer``, ``app.state.audit``)
and ``close()``\\ s it before the pools close, flushing what was queued.

Tracing: each waiting operation gets an ``audit`` span (``hub.audit.batch_size``); the batch's INSERT runs
through ``Department.execute`` (a SQL span, not counted in ``Databases.stats``) under the ``audit`` span of
the batch's first traced entry, and the other entries' ``audit`` spans link to that span.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from opentelemetry import context as otel_context
from opentelemetry import trace

from hub.db.pools import Department
from hub.errors import ServiceUnavailable
from hub.governance.audit import AuditEntry
from hub.telemetry.tracing import record_error

INSERT_MANY_QUERY = "hub/audit_insert_many"
MAX_BATCH = 256
# The keys of one entry in audit_insert_many.sql's $1, in AuditEntry.args() order.
COLUMNS = ("consumer_id", "department", "consumer_name", "operation_name", "operation_type", "document_hash",
           "datasets", "grants", "rows", "masked_fields", "denied", "outcome", "error_codes", "trace_id")


def batch_json(entries: list[AuditEntry]) -> str:
    """``$1`` of ``audit_insert_many.sql``: the entries' ``args()`` (the single-row values) as JSON objects."""
    return orjson.dumps([dict(zip(COLUMNS, e.args())) for e in entries]).decode()


@dataclass(slots=True)
class _Queued:
    entry: AuditEntry
    done: asyncio.Future  # (batch size, span context of the batch's INSERT parent or None)
    span: Any  # the waiter's ``audit`` span, or None when its trace does not record


class AuditWriter:
    """Batches the audit entries of one process (group commit); see the module docstring."""

    def __init__(self, department: Department, max_batch: int = MAX_BATCH):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.department = department  # the hub department of the primary (hub.audit_log)
        self.max_batch = max_batch
        self.batches = 0  # INSERT statements run (failed ones included)
        self.entries = 0  # entries committed
        self.failed_batches = 0  # INSERT statements that failed (retries included)
        self._queue: list[_Queued] = []
        self._task: asyncio.Task | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Entries queued and not yet in a batch."""
        return len(self._queue)

    @property
    def busy(self) -> bool:
        """A batch is being written (or about to be)."""
        return self._task is not None

    async def write(self, entry: AuditEntry) -> None:
        """Queue ``entry`` and wait until the batch holding it committed (raises that batch's error).

        Once queued the entry is written even if this waiter is cancelled.
        """
        if self._closed:
            raise RuntimeError("the audit writer is closed")
        loop = asyncio.get_running_loop()
        telemetry = self.department.telemetry
        span = None
        if telemetry is not None and trace.get_current_span().is_recording():
            span = telemetry.tracer.start_span("audit")
        queued = _Queued(entry, loop.create_future(), span)
        self._queue.append(queued)
        if self._task is None:
            # A context of its own: the flusher outlives this operation and attaches each batch's context.
            self._task = loop.create_task(self._flush(), context=contextvars.Context())
        if span is None:
            await queued.done
            return
        try:
            size, insert_parent = await queued.done
        except BaseException as exc:
            record_error(span, exc)
            raise
        else:
            span.set_attribute("hub.audit.batch_size", size)
            if insert_parent is not None and insert_parent != span.get_span_context():
                span.add_link(insert_parent)  # the trace holding this entry's INSERT
        finally:
            span.end()

    async def _flush(self) -> None:
        batch: list[_Queued] = []
        try:
            while self._queue:
                batch = self._queue[:self.max_batch]
                del self._queue[:self.max_batch]
                carrier = next((q.span for q in batch if q.span is not None), None)
                parent = carrier.get_span_context() if carrier is not None else None
                try:
                    await self._insert(batch, carrier)
                except Exception as exc:  # noqa: BLE001
                    self.failed_batches += 1
                    if len(batch) == 1 or not _refused_by_data(exc):
                        for q in batch:  # e.g. the database is down: retrying entry by entry cannot help
                            _fail(q, exc)
                    else:  # one entry at a time: only the entries the database refuses fail (closed)
                        for q in batch:
                            try:
                                await self._insert([q], q.span)
                            except Exception as single:  # noqa: BLE001
                                self.failed_batches += 1
                                _fail(q, single)
                            else:
                                self.entries += 1
                                if not q.done.done():
                                    q.done.set_result((1, q.span.get_span_context() if q.span else None))
                else:
                    self.entries += len(batch)
                    for q in batch:
                        if not q.done.done():
                            q.done.set_result((len(batch), parent))
                batch = []
        finally:  # no await between the loop's last check and this: a write() that comes later starts a new task
            self._task = None
            if batch or self._queue:  # cancelled (the loop is going away): nobody will write these
                for q in [*batch, *self._queue]:
                    q.done.cancel()
                self._queue.clear()

    async def _insert(self, batch: list[_Queued], carrier: Any) -> None:
        self.batches += 1
        payload = batch_json([q.entry for q in batch])
        token = otel_context.attach(trace.set_span_in_context(carrier)) if carrier is not None else None
        try:
            await self.department.execute(INSERT_MANY_QUERY, payload, counted=False)
        finally:
            if token is not None:
                otel_context.detach(token)

    async def close(self) -> None:
        """Write every queued entry (including writes scheduled just before), then refuse new ones."""
        await asyncio.sleep(0)  # let tasks scheduled before the stop (cancelled operations' writes) queue theirs
        while self._task is not None:
            await asyncio.wait({self._task})  # never cancels the flush, even if close() is cancelled
        self._closed = True


def _fail(queued: _Queued, exc: BaseException) -> None:
    if not queued.done.done():
        queued.done.set_exception(exc)


def _refused_by_data(exc: BaseException) -> bool:
    """The database refused the statement's content (a constraint, a trigger), not the connection."""
    return not isinstance(exc, ServiceUnavailable) and (
        isinstance(exc, asyncpg.PostgresError) or isinstance(exc.__cause__, asyncpg.PostgresError))
