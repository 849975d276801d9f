"""The `hub` command line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from typer.testing import CliRunner

from hub.cli import app

runner = CliRunner()


@pytest.mark.parametrize("args", [[], ["serve"], ["db"], ["db", "migrate"], ["db", "status"], ["seed"],
                                  ["schema"], ["schema", "export"]])
def test_every_command_has_help(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_help_lists_the_commands() -> None:
    out = runner.invoke(app, ["--help"]).output
    for name in ("serve", "db", "seed", "schema"):
        assert name in out


def test_schema_export_check_passes_on_committed_schema() -> None:
    result = runner.invoke(app, ["schema", "export", "--check"])
    assert result.exit_code == 0, result.output


def test_seed_rejects_unknown_scale() -> None:
    result = runner.invoke(app, ["seed", "--scale", "huge"])
    assert result.exit_code == 2
    assert "small" in result.output


def test_bad_setting_is_a_clear_error() -> None:
    result = runner.invoke(app, ["db", "status"], env={"HUB_MAX_PAGE_SIZE": "lots"})
    assert result.exit_code == 2
    assert "HUB_MAX_PAGE_SIZE must be an integer" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postmasters(pgdata: Path) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        try:
            if p.info["name"] == "postgres" and str(pgdata) in " ".join(p.info["cmdline"] or []):
                found.append(p)
        except psutil.Error:
            pass
    return found


def _hub(data_dir: Path, *args: str, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "DATABASE_URL"}
    env.update(HUB_DATA_DIR=str(data_dir), HUB_PORT=str(port))
    return subprocess.Popen([sys.executable, "-m", "hub.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"hub exited early: {proc.stdout.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("hub did not become ready")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_its_embedded_postgres(tmp_path: Path, sig: signal.Signals) -> None:
    data_dir = tmp_path / "hubdata"
    port = _free_port()
    proc = _hub(data_dir, "serve", "--migrate", port=port)
    try:
        _wait_ready(port, proc)
        assert _postmasters(data_dir / "pgdata"), "embedded PostgreSQL should be running"
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 10
    while _postmasters(data_dir / "pgdata") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _postmasters(data_dir / "pgdata"), "the hub left its PostgreSQL running"


def test_restart_after_sigkill_adopts_and_stops_the_orphan(tmp_path: Path) -> None:
    data_dir = tmp_path / "hubdata"
    port = _free_port()
    # One worker: a SIGKILLed uvicorn parent would leave its worker processes serving the port.
    proc = _hub(data_dir, "serve", "--migrate", "--workers", "1", port=port)
    _wait_ready(port, proc)
    proc.kill()  # SIGKILL: no clean-up runs, the server stays up with a stale holder PID
    proc.wait(timeout=10)
    assert _postmasters(data_dir / "pgdata")

    second = _hub(data_dir, "serve", "--workers", "1", port=port)
    try:
        _wait_ready(port, second)
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    finally:
        if second.poll() is None:
            second.kill()
    deadline = time.monotonic() + 10
    while _postmasters(data_dir / "pgdata") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _postmasters(data_dir / "pgdata"), "the orphaned PostgreSQL was not stopped"
