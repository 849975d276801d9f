"""Counters and histograms of ``hub serve --workers N`` counted in memory and written to the shared files in
batches (prometheus-client's multiprocess mode, ``hub.telemetry.metrics``).

In multiprocess mode every ``inc`` of a counter, and every ``observe`` of a histogram (two values: the sum and a
bucket), takes prometheus-client's lock, asks the kernel for the process id (``os.getpid``: a fork resets the files)
and packs the new value into the worker's memory-mapped file. A request touches about eight such values: measured
in process (callgrind, the single lookup), multiprocess mode cost about 49,000 instructions per request, 6-7 % of
the whole request, against about a tenth of that for the same metrics in one process.

``buffered(value_class)`` makes a value class for ``prometheus_client.values.ValueClass`` (the hook the library
reads when it creates each labelled child's values, and that its documentation points to for choosing the process
identifier) whose counter and histogram values add up their increments in memory, under one lock, and write them
to the file when ``flush()`` runs: ``HubMetrics`` flushes every ``FLUSH_SECONDS``, before it answers a scrape, and
when the worker ends. Gauges (``set``) are written at once, as before. What a scrape shows of another worker is
thus at most ``FLUSH_SECONDS`` old, and a worker killed outright (SIGKILL) loses at most its last
``FLUSH_SECONDS`` of counts; one that exits normally loses nothing.

Hand-written: prometheus-client has no batched multiprocess value; this subclasses the one it builds
(``values.MultiProcessValue``) and calls only its ``inc``/``get``/``set``.
``tests/telemetry/test_metric_buffer.py`` fails if the library stops creating values through ``ValueClass``.
"""

from __future__ import annotations

import os
import threading
from typing import Any

FLUSH_SECONDS = 0.25
BUFFERED_TYPES = frozenset({"counter", "histogram"})


class Buffer:
    """The values with increments not yet written, for one value class made by ``buffered``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # inc may run on another thread (a library's); flush swaps under it
        self.pending: list[Any] = []
        self.pid = os.getpid()

    def flush(self) -> None:
        """Write every value's increments counted since the last flush to its file. In a process forked since the
        last flush they are the parent's, which writes them itself: the child drops them (prometheus-client gives it
        files of its own at its first write)."""
        with self.lock:
            if not self.pending:
                return
            taken = []
            for value in self.pending:
                taken.append((value, value._pending))
                value._pending, value._queued = 0.0, False
            self.pending = []
            forked, self.pid = os.getpid() != self.pid, os.getpid()
        if forked:
            return
        for value, amount in taken:
            if amount:
                value.write(amount)


def buffered(value_class: type) -> tuple[type, Buffer]:
    """A subclass of prometheus-client's multiprocess ``value_class`` whose counter and histogram values are
    written at ``Buffer.flush``, and that buffer."""
    buffer = Buffer()
    lock = buffer.lock

    class BufferedValue(value_class):  # type: ignore[misc, valid-type]
        def __init__(self, typ: str, *args: Any, **kwargs: Any) -> None:
            super().__init__(typ, *args, **kwargs)
            self._buffered = typ in BUFFERED_TYPES
            self._pending = 0.0
            self._queued = False

        def inc(self, amount: float) -> None:
            if not self._buffered:
                super().inc(amount)
                return
            with lock:
                if not self._queued:
                    self._queued = True
                    buffer.pending.append(self)
                self._pending += amount

        def write(self, amount: float) -> None:
            super().inc(amount)

        def get(self) -> float:
            with lock:
                waiting = self._pending
            return super().get() + waiting

    return BufferedValue, buffer


def install(values_module: Any) -> Buffer:
    """Make ``values_module.ValueClass`` (prometheus-client's multiprocess value class) buffered, once per process,
    before the metrics that should use it are created; returns its buffer."""
    current = values_module.ValueClass
    buffer = getattr(current, "buffer", None)
    if buffer is None:
        current, buffer = buffered(current)
        current.buffer = buffer
        values_module.ValueClass = current
    return buffer
