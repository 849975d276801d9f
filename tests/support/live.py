"""A live hub for tools that speak real HTTP (the conformance audit, schemathesis, the soak, fault tests):
uvicorn serving an app in a background thread, and scratch databases for the ``make`` targets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import httpx
import psutil
import uvicorn

from hub.db.embedded import EmbeddedPostgres
from hub.settings import Settings
from tests.support.database import drop_database, prepare, with_database

if TYPE_CHECKING:
    import subprocess

    import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_in_thread(app: Any, port: int | None = None, timeout: float = 30.0) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (lifespan on) from a daemon thread; yields the base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning",
                            access_log=False, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"hub-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the hub did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextlib.contextmanager
def scratch_hub_database(name: str, scale: str | None = None,
                         drop_after: bool = False) -> Iterator[tuple[Settings, dict[str, str]]]:
    """A fresh database ``name`` (dropped first; also afterwards with ``drop_after``) on DATABASE_URL's server
    or the embedded one, migrated, optionally loaded with demo data of ``scale``, with the demo consumers;
    yields settings and their tokens. Used by ``make conformance``, ``fuzz``, ``soak`` and ``bench-tracing``
    (not by the test suite)."""
    external = os.environ.get("DATABASE_URL")
    pg = None
    if external:
        admin = with_database(external, "postgres")
    else:
        pg = EmbeddedPostgres(Settings.from_env({}).data_dir).start()
        admin = pg.admin_url()
    try:
        settings = replace(Settings.from_env(), database_url=with_database(admin, name))
        tokens = asyncio.run(prepare(settings, admin, name, test_grants=False, scale=scale, statistics=False))
        try:
            yield settings, tokens
        finally:
            if drop_after:
                asyncio.run(drop_database(admin, name))
    finally:
        if pg is not None:
            pg.stop()


def worker_processes(proc: subprocess.Popen) -> list[psutil.Process]:
    """The worker processes of a `hub serve` started as ``proc`` (not multiprocessing's resource tracker)."""
    try:
        children = psutil.Process(proc.pid).children()
    except psutil.NoSuchProcess:
        return []
    return [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]


def serve_command(port: int, workers: int) -> list[str]:
    """The command line of `hub serve --workers N` on 127.0.0.1:``port``."""
    return [str(Path(sys.executable).parent / "hub"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers)]


def serve_environment(database_url: str, data_dir: Path, **env: str) -> dict[str, str]:
    """The environment of a `hub serve` of the tests: this one's without its HUB_* settings, the test settings, and
    ``env`` (HUB_* settings and other variables)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    environ.update({"DATABASE_URL": database_url, "HUB_ENV": "test", "HUB_DATA_DIR": str(data_dir),
                    "HUB_LOG_LEVEL": "info", "HUB_LOG_FORMAT": "text", "HUB_METRICS": "false",
                    "OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none",
                    **env})
    return environ


def serve_workers(database_url: str, data_dir: Path, log_path: Path, workers: int,
                  **env: str) -> tuple[subprocess.Popen, str]:
    """`hub serve --workers N` on a free port with the test environment and ``env`` (HUB_* settings), its output
    in ``log_path``; returns once every worker has started and /readyz answers 200: the process and its base URL."""
    port = free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(serve_command(port, workers), env=serve_environment(database_url, data_dir, **env),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    # Every worker has run its start-up (pools open) and accepts connections.
    deadline = time.monotonic() + 120
    while log_path.read_text().count("Application startup complete") < workers:
        assert proc.poll() is None, log_path.read_text()
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the hub did not start: {log_path.read_text()}")
        time.sleep(0.2)
    assert httpx.get(base + "/readyz", timeout=10).status_code == 200
    return proc, base


def stop_served(proc: subprocess.Popen) -> None:
    """Stop a `hub serve` started as ``proc``: SIGTERM, then kill it and its workers if it has not ended in 30 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for worker in worker_processes(proc):
                worker.kill()
            proc.kill()
            proc.wait(timeout=10)
