"""The access line written by the hub's own JSON handler (hub.telemetry.logs.access_line): the same JSON object
as through the logging module, in order with the other records, written within FLUSH_SECONDS, at shutdown, and at
once without an event loop; an ordinary log record whenever another handler or filter is in the way."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import json
import logging
import os
import threading
import time

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from hub.telemetry import logs
from hub.telemetry.logs import JsonFormatter, access_line, configure_logging, utc_millis

FIELDS = {"method": "POST", "path": "/graphql", "status": 200, "duration_ms": 1.5, "operation": "query Q",
          "outcome": "ok", "consumer": "c", "consumer_id": 3, "department": "labor", "trace_id": None,
          "span_id": None}


@pytest.fixture
def stream():
    root, access = logging.getLogger(), logging.getLogger("hub.access")
    saved = (list(root.handlers), root.level, access.level)
    out = io.StringIO()
    handler = configure_logging("info", "json", stream=out)
    try:
        yield out
    finally:  # give pytest its handlers back
        handler.flush()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        access.setLevel(saved[2])


@contextlib.contextmanager
def alone():
    """The hub's handler alone on the root logger (pytest adds its capture handlers for each test's call)."""
    root = logging.getLogger()
    saved = list(root.handlers)
    root.handlers[:] = [h for h in saved if isinstance(h, logs.HubHandler)]
    try:
        yield
    finally:
        root.handlers[:] = saved


def _lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_the_buffered_line_is_the_json_object_of_the_logging_path(stream) -> None:
    async def go():
        access_line("POST /graphql query Q 200 1.5ms", dict(FIELDS))
        assert stream.getvalue() == ""  # buffered
        await asyncio.sleep(logs.FLUSH_SECONDS * 3)

    with alone():
        asyncio.run(go())
    [written] = _lines(stream)
    record = logging.makeLogRecord({"name": "hub.access", "levelno": logging.INFO, "levelname": "INFO",
                                    "msg": "POST /graphql query Q 200 1.5ms", "fields": dict(FIELDS),
                                    "created": time.time()})
    expected = json.loads(JsonFormatter().format(record))
    assert written.keys() == expected.keys()
    assert {k: v for k, v in written.items() if k != "ts"} == {k: v for k, v in expected.items() if k != "ts"}
    assert written["ts"].endswith("Z") and written["logger"] == "hub.access" and written["level"] == "info"


def test_lines_keep_their_order_with_other_records(stream) -> None:
    async def go():
        access_line("first", dict(FIELDS))
        logging.getLogger("hub.test").warning("second")
        access_line("third", dict(FIELDS))
        await asyncio.sleep(logs.FLUSH_SECONDS * 3)

    with alone():
        asyncio.run(go())
    assert [e["message"] for e in _lines(stream)] == ["first", "second", "third"]


def test_lines_are_written_at_shutdown_without_a_loop_and_when_many_wait(stream) -> None:
    async def buffered():
        access_line("pending", dict(FIELDS))

    with alone():
        asyncio.run(buffered())  # its loop ends before the timer fires
        assert stream.getvalue() == ""
        logging.getLogger().handlers[0].flush()  # what logging.shutdown does at exit
        assert [e["message"] for e in _lines(stream)] == ["pending"]

        access_line("no loop", dict(FIELDS))  # outside an event loop: written at once
        assert _lines(stream)[-1]["message"] == "no loop"

    async def many():
        for i in range(logs.FLUSH_LINES):
            access_line(f"line {i}", dict(FIELDS))
        return len(_lines(stream))

    with alone():
        assert asyncio.run(many()) == 2 + logs.FLUSH_LINES


def test_another_handler_gets_an_ordinary_record(stream) -> None:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    extra = Keep()
    with alone():
        logging.getLogger().addHandler(extra)
        access_line("captured", dict(FIELDS))
    assert [r.getMessage() for r in seen] == ["captured"] and seen[0].fields["operation"] == "query Q"
    assert _lines(stream)[-1]["message"] == "captured"  # written at once, through the logging module


def test_text_format_and_a_disabled_logger_use_the_logging_module() -> None:
    root, access = logging.getLogger(), logging.getLogger("hub.access")
    saved = (list(root.handlers), root.level, access.level)
    out = io.StringIO()
    try:
        configure_logging("info", "text", stream=out)
        logging.getLogger().handlers[:] = [h for h in logging.getLogger().handlers if isinstance(h, logs.HubHandler)]
        access_line("as text", dict(FIELDS))
        assert "INFO hub.access: as text" in out.getvalue()
        access.setLevel(logging.WARNING)
        access_line("not written", dict(FIELDS))
        assert "not written" not in out.getvalue()
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        access.setLevel(saved[2])


def test_a_timer_left_on_a_closed_loop_does_not_hold_later_lines(stream) -> None:
    async def one(message: str, wait: float) -> None:
        access_line(message, dict(FIELDS))
        await asyncio.sleep(wait)

    with alone():
        asyncio.run(one("on a loop that ends", 0))  # its timer never fires
        asyncio.run(one("on the next loop", logs.FLUSH_SECONDS * 3))
    assert [e["message"] for e in _lines(stream)] == ["on a loop that ends", "on the next loop"]


def test_a_handler_or_a_stop_on_the_hub_logger_gets_an_ordinary_record(stream) -> None:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    hub = logging.getLogger("hub")
    extra = Keep()
    with alone():
        hub.addHandler(extra)  # a deployment's handler for the hub's loggers (a file, OpenTelemetry's)
        try:
            access_line("to both", dict(FIELDS))
        finally:
            hub.removeHandler(extra)
        hub.propagate = False  # the hub's records stop at its logger: the root's handler gets none
        try:
            access_line("to none", dict(FIELDS))
            logging.getLogger().handlers[0].flush()
        finally:
            hub.propagate = True
    assert [r.getMessage() for r in seen] == ["to both"]
    assert [e["message"] for e in _lines(stream)] == ["to both"]


def test_a_line_json_cannot_encode_never_fails_the_request(stream, capsys) -> None:
    async def go():
        # A lone surrogate (no field of the hub carries one today: orjson and the servers' URL decoding reject them)
        access_line("GET /x other 404 0.1ms", {**FIELDS, "path": "/\ud800"})

    with alone():
        asyncio.run(go())  # as any log write: reported by logging.Handler.handleError, never raised
    assert "Logging error" in capsys.readouterr().err


def test_batches_of_two_writers_on_one_pipe_keep_their_lines_whole() -> None:
    # The workers of `hub serve --workers N` share the stderr pipe: a write of at most PIPE_BUF bytes reaches it
    # whole, a longer one may be cut by the other workers' writes (as when the reader is slower than the writers).
    read_end, write_end = os.pipe()
    line = json.dumps({"logger": "hub.access", "message": "x" * 300})

    def writer(fd: int) -> None:
        handler = logs.HubHandler(open(fd, "w"))

        async def batches() -> None:
            for _ in range(4 * logs.FLUSH_LINES):  # every FLUSH_LINES lines: one batch, written at once
                handler.add(line)

        asyncio.run(batches())
        handler.stream.close()

    threads = [threading.Thread(target=writer, args=(os.dup(write_end),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    os.close(write_end)
    received = b""
    with open(read_end, "rb", buffering=0) as reader:
        while chunk := reader.read(1024):
            received += chunk
            time.sleep(0.0005)  # a reader slower than the writers: the pipe fills up
    for thread in threads:
        thread.join()
    lines = received.decode().splitlines()
    assert len(lines) == 8 * logs.FLUSH_LINES and set(lines) == {line}


def test_a_formatter_set_on_the_hub_handler_formats_the_access_lines_too(stream) -> None:
    class Tagged(JsonFormatter):  # a deployment's own fields on every line
        def format(self, record: logging.LogRecord) -> str:
            return json.dumps({**json.loads(super().format(record)), "service": "hub-east"})

    with alone():
        handler = logging.getLogger().handlers[0]
        handler.setFormatter(Tagged())
        access_line("tagged", dict(FIELDS))
        handler.flush()
    assert [(e["message"], e.get("service")) for e in _lines(stream)] == [("tagged", "hub-east")]


def test_the_end_of_the_lifespan_writes_the_waiting_lines(settings, stream, monkeypatch) -> None:
    """A worker of ``hub serve --workers N`` stopped by SIGTERM ends by the signal's default action once uvicorn
    has shut down (uvicorn raises the signal again), so nothing at exit writes what waits: the app's lifespan does,
    as its last step, whether or not the timer has fired (here it never would)."""
    from starlette.testclient import TestClient

    from hub.app import create_app

    monkeypatch.setattr(logs, "FLUSH_SECONDS", 3600.0)
    with alone():
        with TestClient(create_app(settings)) as client:
            assert client.get("/healthz").status_code == 200
            assert not any(e.get("path") == "/healthz" for e in _lines(stream))  # still waiting
        paths = [e.get("path") for e in _lines(stream)]
    assert "/healthz" in paths


@hypothesis_settings(max_examples=2000, deadline=None)
@given(created=st.floats(min_value=0, max_value=4_102_444_800) | st.integers(0, 4_102_444_800).map(
    lambda s: s + 0.9995) | st.integers(0, 4_102_444_800).map(lambda s: s + 0.9999996))
def test_a_lines_time_is_isoformats(created: float) -> None:
    """``utc_millis`` (the second's text kept) writes what ``datetime.isoformat`` wrote, rounding included."""
    expected = dt.datetime.fromtimestamp(created, dt.timezone.utc).isoformat(timespec="milliseconds")
    assert utc_millis(created) == expected.replace("+00:00", "Z")
