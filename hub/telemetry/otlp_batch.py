"""``EncodedBatchSpanProcessor``: batches spans already encoded to OTLP bytes and sends them from a thread.

It does what the SDK's ``BatchSpanProcessor`` does for the hub's OTLP exporter — a bounded queue
(``OTEL_BSP_MAX_QUEUE_SIZE``; spans beyond it are dropped and counted), an export at least every
``OTEL_BSP_SCHEDULE_DELAY`` ms and whenever ``OTEL_BSP_MAX_EXPORT_BATCH_SIZE`` spans wait, ``force_flush``
and ``shutdown`` — with one difference: a span is encoded (``hub.telemetry.otlp``) when it ends, on the thread that
ends it, and only its bytes are queued.

Why: the event loop owns the GIL most of the time; an export thread encoding 512 spans at once takes it
for long stretches, and the loop waits for it each time it comes back from a socket write. Encoding one
span as it ends costs the loop a few microseconds, and leaves the export thread with joining bytes and
the HTTP request (mostly I/O). ``make bench-tracing`` measures the whole.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import weakref
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from hub.telemetry.otlp import HubOTLPSpanExporter

log = logging.getLogger("hub.otlp")


class EncodedBatchSpanProcessor(SpanProcessor):
    """Encode on end, batch, export from one daemon thread (see the module docstring)."""

    def __init__(self, exporter: HubOTLPSpanExporter, max_queue_size: int | None = None,
                 schedule_delay_millis: float | None = None, max_export_batch_size: int | None = None,
                 export_timeout_millis: float | None = None):
        self.exporter = exporter
        self.encoder = exporter.encoder
        self.max_queue_size = max_queue_size or 2048
        self.schedule_delay = (schedule_delay_millis if schedule_delay_millis is not None else 5000) / 1000
        self.max_export_batch_size = min(max_export_batch_size or 512, self.max_queue_size)
        self.export_timeout = (export_timeout_millis or 30000) / 1000
        self.dropped = 0  # spans dropped because the queue was full
        self.failed = 0  # batches the exporter could not deliver
        self._queue: collections.deque[tuple[Any, Any, bytes]] = collections.deque()
        self._wake = threading.Event()
        self._export_lock = threading.Lock()  # one export at a time (worker, force_flush, shutdown)
        self._shutdown = False
        self._start_worker()
        # A forked child (e.g. a pre-fork server) gets a fresh queue and thread.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (p := ref()) is not None and p._after_fork())

    def _start_worker(self) -> None:
        self._worker = threading.Thread(target=self._run, name="HubOTLPExport", daemon=True)
        self._worker.start()

    def _after_fork(self) -> None:
        self._queue.clear()
        self._wake = threading.Event()
        self._export_lock = threading.Lock()
        self._start_worker()

    # -- the span's side (hot) -----------------------------------------------------------------------

    # on_start and _on_ending: SpanProcessor's no-ops (hub.telemetry.tracing.HubTracer then skips the calls).

    def on_end(self, span: ReadableSpan) -> None:
        try:  # a ReadableSpan's fields, without its properties
            context, resource, scope = span._context, span._resource, span._instrumentation_scope
        except AttributeError:
            context, resource, scope = span.context, span.resource, span.instrumentation_scope
        if self._shutdown or not context.trace_flags & 1:  # not sampled
            return
        queue = self._queue
        if len(queue) >= self.max_queue_size:
            self.dropped += 1
            return
        try:
            encoded = self.encoder.span(span)
        except Exception:  # noqa: BLE001 - a span is never worth an error on the request's path
            log.warning("could not encode span %r; dropped", span.name, exc_info=True)
            return
        queue.append((resource, scope, encoded))  # deque.append: thread-safe
        if len(queue) >= self.max_export_batch_size:
            self._wake.set()

    # -- the export thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._shutdown:
            full = self._wake.wait(self.schedule_delay)
            self._wake.clear()
            # Woken by a full batch: send full batches only (fewer, larger requests); on the schedule: all.
            self._export_all(deadline=None, full_only=full and not self._shutdown)

    def _export_all(self, deadline: float | None, full_only: bool = False) -> bool:
        """Export what is queued, batch by batch; False when the deadline passed first."""
        with self._export_lock:
            queue = self._queue
            while queue and (not full_only or len(queue) >= self.max_export_batch_size):
                if deadline is not None and time.monotonic() > deadline:
                    return False
                batch = [queue.popleft() for _ in range(min(len(queue), self.max_export_batch_size))]
                try:
                    ok = self.exporter.send(self.encoder.assemble(batch))
                except Exception:  # noqa: BLE001 - the exporter logs; keep the thread alive
                    log.exception("exporting %d spans failed", len(batch))
                    ok = False
                if not ok:
                    self.failed += 1
        return True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export everything queued, from the calling thread, within ``timeout_millis``."""
        return self._export_all(deadline=time.monotonic() + timeout_millis / 1000)

    def shutdown(self) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        self._wake.set()
        self._worker.join(self.export_timeout)
        self._export_all(deadline=time.monotonic() + self.export_timeout)
        self.exporter.shutdown()
