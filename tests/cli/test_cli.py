"""The `hub` command line."""

from __future__ import annotations

import io
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
import typer.main
from rich.console import Console
from typer.testing import CliRunner

from hub.cli.main import app
from hub.cli.support import progress_bars
from hub.cli.sync import default_url

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


# --- errors a person can act on (issue 17) -----------------------------------------------------------

def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "DATABASE_URL"}
    env.update(extra)
    return env


def _run(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], env=_env(**env), capture_output=True,
                          text=True, timeout=timeout)


_closed_port = _free_port()
BAD_DATABASES = [
    (f"postgres://x@127.0.0.1:{_closed_port}/none", f"cannot connect to 127.0.0.1:{_closed_port}: connection refused"),
    ("mysql://x:secret@127.0.0.1/none", "mysql://x:***@127.0.0.1/none is not a usable PostgreSQL URL"),
    ("postgres://x@no-such-host.invalid/none", "cannot connect to no-such-host.invalid:5432: unknown host"),
]


def _one_line(result: subprocess.CompletedProcess) -> str:
    out = (result.stdout + result.stderr).strip()
    assert "Traceback" not in out and len(out.splitlines()) == 1, out
    return out


@pytest.mark.parametrize("command", [["db", "status"], ["db", "migrate"], ["serve"], ["stats", "refresh"],
                                     ["audit", "verify"], ["consumer", "list"]])
@pytest.mark.parametrize("url, said", BAD_DATABASES)
def test_a_bad_database_url_is_one_line_naming_target_and_cause(tmp_path: Path, command: list[str], url: str,
                                                                said: str) -> None:
    result = _run(*command, DATABASE_URL=url, HUB_PORT=str(_free_port()), HUB_DATA_DIR=str(tmp_path))
    assert result.returncode == 1, result
    line = _one_line(result)
    assert said in line and line.endswith("— check DATABASE_URL"), line
    assert "secret" not in line and "serving on" not in line


def test_debug_shows_the_traceback() -> None:
    url = BAD_DATABASES[0][0]
    for result in (_run("--debug", "db", "status", DATABASE_URL=url),
                   _run("db", "status", DATABASE_URL=url, HUB_LOG_LEVEL="debug")):
        assert result.returncode == 1 and "Traceback" in result.stderr, result.stderr
        assert "connection refused" in result.stderr


def test_serve_on_a_busy_port_says_so_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run("serve", "--migrate", "--demo", "small", HUB_PORT=str(port), HUB_DATA_DIR=str(tmp_path))
    assert result.returncode == 1
    assert _one_line(result) == f"error: port {port} is in use (another hub?) — set HUB_PORT"
    assert not (tmp_path / "pgdata").exists(), "nothing is started on a busy port"


def test_serve_with_the_removed_audit_relay_turned_on_says_so_before_starting_anything(tmp_path: Path) -> None:
    # An unreachable database: a hub that ignored the setting would fail on it instead (fast, starting nothing).
    result = _run("serve", "--workers", "2", HUB_AUDIT_RELAY="true", DATABASE_URL=BAD_DATABASES[0][0],
                  HUB_DATA_DIR=str(tmp_path), HUB_PORT=str(_free_port()))
    line = _one_line(result)
    assert result.returncode == 2, line
    assert line.startswith("configuration error: HUB_AUDIT_RELAY=true: the audit relay was removed"), line
    assert "audit turn" in line and "HUB_AUDIT_TURN" in line, line


def test_client_commands_default_their_url_and_name_it_when_unreachable(tmp_path: Path) -> None:
    """HUB_URL, else HUB_HOST/HUB_PORT; the error names the URL tried (both run at once: each retries)."""
    port = _free_port()
    data = tmp_path / "rows.ndjson"
    data.write_text('{"source_id": "x"}\n')
    ingest = subprocess.Popen([sys.executable, "-m", "hub.cli", "ingest", str(data), "--dataset", "labor.job_postings"],
                              env=_env(HUB_URL=f"http://127.0.0.1:{port}", HUB_TOKEN="t"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    pull = subprocess.Popen([sys.executable, "-m", "hub.cli", "sync", "pull", "--dataset", "labor.job_postings",
                             "--to", str(tmp_path / "copy")], env=_env(HUB_HOST="127.0.0.1", HUB_PORT=str(port),
                                                                      HUB_TOKEN="t"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for proc in (ingest, pull):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, (out, err)
        assert "Traceback" not in out + err
        line = err.strip().splitlines()[-1]  # (after the upload's progress bar)
        assert f"cannot connect to http://127.0.0.1:{port}: connection refused — check --url or HUB_URL" in line


# --- CLI conventions -------------------------------------------------------------------------------------

def _commands(command, path=()):
    yield path
    if hasattr(command, "commands"):  # a group
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def test_every_help_shows_boolean_options_as_flags() -> None:
    paths = list(_commands(typer.main.get_command(app)))
    assert ("schema", "export") in paths and ("serve",) in paths and ("ingest",) in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, (path, result.output)
    assert "--check " in runner.invoke(app, ["schema", "export", "--help"], terminal_width=200).output
    result = runner.invoke(app, ["schema", "export", "--check", "true"])
    assert result.exit_code == 2  # a flag takes no value


def test_report_help_lists_the_page_options() -> None:
    out = runner.invoke(app, ["report", "--help"], terminal_width=200).output
    for option in ("--out", "--lang", "--draft", "--version", "hub report publish"):
        assert option in out, out


def test_serve_refuses_an_unknown_demo_scale(tmp_path: Path) -> None:
    result = _run("serve", "--demo", "huge", HUB_DATA_DIR=str(tmp_path), HUB_PORT=str(_free_port()), timeout=60)
    said = " ".join(result.stderr.replace("│", " ").split())  # the error box may wrap
    assert result.returncode == 2 and "'huge' is not one of 'small', 'medium', 'large'" in said, result.stderr
    assert not (tmp_path / "pgdata").exists()


def test_client_default_url() -> None:
    assert default_url({}) == "http://127.0.0.1:8000"
    assert default_url({"HUB_URL": "https://hub.example", "HUB_PORT": "9"}) == "https://hub.example"
    assert default_url({"HUB_HOST": "0.0.0.0", "HUB_PORT": "8123"}) == "http://127.0.0.1:8123"
    assert default_url({"HUB_HOST": "::1"}) == "http://[::1]:8000"


def test_progress_bars_show_one_bar_per_step_with_its_count() -> None:
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=False)
    with progress_bars(console) as report:
        report("labor.job_postings", 0, 200)
        report("labor.job_postings", 150, 200)
        report("statistics refresh", 3, 7)
        report("hub.districts", 0, 0)  # an empty step is a bar of one, not a division by zero
        report("labor.job_postings", 200, 200)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    final = {line.split()[0]: line.split() for line in lines[-3:]}
    assert set(final) == {"labor.job_postings", "statistics", "hub.districts"}, lines
    assert "200/200" in final["labor.job_postings"] and "3/7" in final["statistics"], lines
    assert "0/1" in final["hub.districts"], lines


# --- closing the terminal ----------------------------------------------------------------------------------

@pytest.mark.parametrize("workers", ["1", "2"])
def test_sighup_stops_the_hub_and_its_embedded_postgres(tmp_path: Path, workers: str) -> None:
    """Closing the terminal sends SIGHUP to the foreground process group: the hub stops like on Ctrl-C."""
    data_dir = tmp_path / "hubdata"
    port = _free_port()
    env = _env(HUB_DATA_DIR=str(data_dir), HUB_PORT=str(port))
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--migrate", "--workers", workers], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        _wait_ready(port, proc)
        assert _postmasters(data_dir / "pgdata"), "embedded PostgreSQL should be running"
        os.killpg(proc.pid, signal.SIGHUP)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _postmasters(data_dir / "pgdata") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _postmasters(data_dir / "pgdata"), "the hub left its PostgreSQL running"
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # and nothing serves the port any more
