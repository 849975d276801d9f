"""Group commit for the audit log: one call (one transaction, one WAL flush) per batch of entries.

The hash chain orders every entry after the one committed before it, so the entries of concurrent operations
are queued and appended in order with ONE call (``sql/queries/hub/audit_append.sql``: the function
``hub.audit_append`` of migration 0026). The writer builds each entry's canonical content itself
(``hub.audit_hash``, the one definition, which ``hub audit verify`` uses) and sends only that; under the chain's
lock the database reads the newest entry once per batch, draws each id, puts it into the content, hashes it and
stores the columns parsed from that same content (so a stored entry cannot differ from what was hashed). No per-row
trigger builds JSON, takes the lock or reads the newest entry (that costs the database several times more per
entry). ``write(entry)`` returns only when the batch holding the entry has committed and raises the error
otherwise (callers fail closed as before). When a batch fails, its entries are tried again one by one, so only
the entries the database refuses (or all, while it is down) fail. One batch is in flight at a time; entries
arriving meanwhile form the next batch (at most ``max_batch``), so batches grow with the load. There is no
timer: an idle writer starts a batch at once, so a lone operation waits no longer than with its own INSERT.
Each entry's content is built when it is queued (``entry_rest``); an entry that cannot be built fails alone.

With ``hub serve --workers N`` the workers' writers take turns (``hub.governance.audit_turn``): a batch is taken
and sent when this worker has the turn, so batches wait for each other on the host, not on the chain's lock in
the database, and grow meanwhile.

The app owns one writer per process (``hub.app`` lifespan: ``Databases.audit_writer``, ``app.state.audit``)
and ``close()``\\ s it before the pools close, flushing what was queued.

Tracing: each waiting operation gets an ``audit`` span (``hub.audit.batch_size``); the batch's call runs
through ``Department.execute`` (a SQL span, not counted in ``Databases.stats``) under the ``audit`` span of
the batch's first traced entry, and the other entries' ``audit`` spans link to that span.
"""


from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

import asyncpg
from opentelemetry import context as otel_context
from opentelemetry import trace

from hub.db.pools import Department
from hub.errors import ServiceUnavailable
from hub.governance.audit import AuditEntry
from hub.governance.audit_turn import HostTurn
from hub.governance import audit_hash
from hub.governance.audit_hash import utc_text
from hub.telemetry.tracing import record_error

APPEND_QUERY = "hub/audit_append"
MAX_BATCH = 256
# A batch's contents go to the database as ONE text, joined by line feeds (audit_append.sql splits it): an array
# parameter costs asyncpg's encoder two ABC isinstance checks per element (~8 per request on the single lookup).
# A content is JSON, whose strings escape a line feed, so it never holds one (``entry_rest`` checks).
SEPARATOR = "\n"


def entry_rest(entry: AuditEntry) -> str:
    """An entry's canonical content after its time and id (``hub.governance.audit_hash.entry_rest``), which the
    database completes with the batch's time and the id it draws (``{"at": "<at>", "id": <id>`` + rest) and stores
    the columns from. Built when the entry is queued: it does not depend on the batch, and a batch then only joins
    texts while the workers' turn (``hub.governance.audit_turn``) is held. UnbuildableEntry for a value the content
    cannot hold."""
    try:
        rest = audit_hash.entry_rest(entry)
    except (TypeError, ValueError, KeyError, OverflowError) as exc:  # OverflowError: int(inf) among the rows
        raise UnbuildableEntry(f"an audit entry's content cannot be built: {exc}") from exc
    if SEPARATOR in rest:  # cannot happen (JSON escapes a line feed in every string); would split the entry in two
        raise UnbuildableEntry("an audit entry's content holds a raw line feed")
    return rest


def batch_args(entries: list[AuditEntry], at: dt.datetime) -> tuple[str, str]:
    """The parameters of ``audit_append.sql``: the batch's time (UTC text) and the entries' ``entry_rest`` joined
    by ``SEPARATOR``."""
    return utc_text(at), SEPARATOR.join([entry_rest(e) for e in entries])


class UnbuildableEntry(ValueError):
    """``entry_rest`` could not build an entry's content (a value of a type the content cannot hold): the entry is
    refused when queued, alone; nothing is sent to the database."""


@dataclass(slots=True)
class _Queued:
    rest: str  # entry_rest(entry)
    done: asyncio.Future  # (batch size, span context of the batch's INSERT parent or None)
    span: Any  # the waiter's ``audit`` span, or None when its trace does not record


class AuditWriter:
    """Batches the audit entries of one process (group commit); see the module docstring."""

    def __init__(self, department: Department, max_batch: int = MAX_BATCH, turn: HostTurn | None = None):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.department = department  # the hub department of the primary (hub.audit_log)
        self.max_batch = max_batch
        self.turn = turn  # hub serve --workers N: the workers' batches take turns (hub.governance.audit_turn)
        self.batches = 0  # calls run (failed ones included)
        self.entries = 0  # entries committed
        self.failed_batches = 0  # calls that failed (retries included)
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
        try:
            rest = entry_rest(entry)
        except UnbuildableEntry as exc:
            if span is not None:
                record_error(span, exc)
                span.end()
            raise
        queued = _Queued(rest, loop.create_future(), span)
        self._queue.append(queued)
        if self._task is None:
            # A context of its own: the flusher outlives this operation and attaches each batch's context.
            self._task = loop.create_task(self._flush(), context=contextvars.Context())
        if span is not None:
            queued.done.add_done_callback(functools.partial(_end_span, span))
        await queued.done

    async def _flush(self) -> None:
        try:
            while self._queue:
                async with self.turn.held() if self.turn is not None else contextlib.nullcontext():
                    await self._next_batch()
        finally:  # no await between the loop's last check and this: a write() that comes later starts a new task
            self._task = None
            if self._queue:  # cancelled (the loop is going away): nobody will write these
                for q in self._queue:
                    q.done.cancel()
                self._queue.clear()

    async def _next_batch(self) -> None:
        """Write the queued entries (at most ``max_batch``). With a turn they are taken once the turn is ours, so
        that the entries queued while another worker's batch committed join this one."""
        batch = self._queue[:self.max_batch]
        del self._queue[:self.max_batch]
        carrier = next((q.span for q in batch if q.span is not None), None)
        parent = carrier.get_span_context() if carrier is not None else None
        try:
            await self._insert(batch, carrier)
        except asyncio.CancelledError:  # the loop is going away: nobody will write these
            for q in batch:
                q.done.cancel()
            raise
        except Exception as exc:  # noqa: BLE001
            self.failed_batches += 1
            if len(batch) == 1 or not _refused_by_data(exc):
                for q in batch:  # e.g. the database is down: retrying entry by entry cannot help
                    _fail(q, exc)
                return
            for i, q in enumerate(batch):  # one entry at a time: only the entries the database refuses fail (closed)
                try:
                    await self._insert([q], q.span)
                except asyncio.CancelledError:
                    for rest in batch[i:]:
                        rest.done.cancel()
                    raise
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

    async def _insert(self, batch: list[_Queued], carrier: Any) -> None:
        self.batches += 1
        token = otel_context.attach(trace.set_span_in_context(carrier)) if carrier is not None else None
        try:
            await self.department.execute(APPEND_QUERY, utc_text(dt.datetime.now(dt.timezone.utc)),
                                          SEPARATOR.join([q.rest for q in batch]), counted=False)
        finally:
            if token is not None:
                otel_context.detach(token)

    async def close(self) -> None:
        """Write every queued entry (including writes scheduled just before), then refuse new ones."""
        await asyncio.sleep(0)  # let tasks scheduled before the stop (cancelled operations' writes) queue theirs
        while self._task is not None:
            await asyncio.wait({self._task})  # never cancels the flush, even if close() is cancelled
        self._closed = True
        if self.turn is not None:
            self.turn.close()


def _end_span(span: Any, done: asyncio.Future) -> None:
    """Close a waiter's ``audit`` span when its entry's batch committed or failed (or the waiter gave up)."""
    if done.cancelled():
        record_error(span, asyncio.CancelledError())
    elif done.exception() is not None:
        record_error(span, done.exception())
    else:
        size, insert_parent = done.result()
        span.set_attribute("hub.audit.batch_size", size)
        if insert_parent is not None and insert_parent != span.get_span_context():
            span.add_link(insert_parent)  # the trace holding this entry's INSERT
    span.end()


def _fail(queued: _Queued, exc: BaseException) -> None:
    if not queued.done.done():
        queued.done.set_exception(exc)


def _refused_by_data(exc: BaseException) -> bool:
    """The database refused the statement's content (a constraint, a trigger), not the connection: trying the
    entries one by one fails only the bad one, not its whole batch."""
    return not isinstance(exc, ServiceUnavailable) and (
        isinstance(exc, asyncpg.PostgresError) or isinstance(exc.__cause__, asyncpg.PostgresError))
