"""The files the workers of ``hub serve --workers N`` share (rate-limit and websocket tables, metrics folder, audit
turn files) live where no other local user can plant, read or change them (``hub.run_dir``): ``<data dir>/run``,
else this user's private folder in the temporary directory; a folder or file there that another user could have
made or can change is refused with a said SetupError, and a worker opens its table only as this user's own file,
never through a symlink.

The tests run as root: "another user" is uid 65534 (``os.chown``), plus the mode bits of a folder or file made
first and symlinks in place of one. The temporary directory is a folder of the test (``tempfile.tempdir``, or
TMPDIR for ``hub serve``), never the real shared one.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

import httpx
import pytest

from hub.errors import SetupError
from hub.governance import audit_turn
from hub.governance.audit_turn import TURN_ENV, HostTurn
from hub.http import rate_table, socket_table
from hub.http.rate_table import RateTable
from hub.http.socket_table import SocketTable
from hub.telemetry import metrics
from tests.support.database import empty_database
from tests.support.live import free_port, serve_command, serve_environment, serve_workers, stop_served

SCRATCH_DB = "hub_test_run_dir"
OTHER = 65534  # "another user" (nobody)

CREATORS: dict[str, Callable[[Path, int], Path]] = {
    "rate-limit table": rate_table.create_for_server,
    "websocket table": lambda data_dir, port: socket_table.create_for_server(data_dir, port, workers=2),
    "audit turn file": audit_turn.create_for_server,
    "metrics folder": metrics.prepare_multiprocess_dir,
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def temp(tmp_path: Path, monkeypatch) -> Path:
    """The temporary directory of the test: world-writable and sticky, like the shared one."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    folder.chmod(0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def no_data_dir(tmp_path: Path) -> Path:
    """A data directory that cannot hold a run folder (root may write anywhere: a file where the folder should be)."""
    path = tmp_path / "data"
    path.write_text("a file where the data directory should be")
    return path


def test_the_run_folder_of_the_data_dir_is_private_and_so_is_each_file_in_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    made = {name: create(data_dir, 8200) for name, create in CREATORS.items()}
    run = data_dir / "run"
    assert _mode(run) == 0o700 and _mode(data_dir) == 0o700  # a data directory made here is private too
    assert {name: (path.parent, _mode(path)) for name, path in made.items()} == {
        "rate-limit table": (run, 0o600), "websocket table": (run, 0o600), "audit turn file": (run, 0o600),
        "metrics folder": (run, 0o700)}
    assert _mode(Path(f"{made['audit turn file']}.waiting")) == 0o600


def test_without_a_writable_data_dir_every_run_file_goes_to_this_users_private_folder(temp: Path,
                                                                                       no_data_dir: Path) -> None:
    private = temp / f"hub-{os.geteuid()}"
    for name, create in CREATORS.items():
        assert create(no_data_dir, 8201).parent == private, name
    assert _mode(private) == 0o700 and os.lstat(private).st_uid == os.geteuid()
    assert sorted(p.name for p in private.iterdir()) == [
        "audit-turn-8201.lock", "audit-turn-8201.lock.waiting", "metrics-8201", "rate-limit-8201.table",
        "websockets-8201.table"]


def _plant(kind: str, path: Path) -> Path:
    """Make ``path`` what another user could have made first; the folder that then must stay empty."""
    if kind == "a symlink to a private folder":
        target = path.with_name("elsewhere")
        target.mkdir(mode=0o700)  # every check would pass on the folder the link leads to
        path.symlink_to(target)
        return target
    if kind == "a file":
        path.write_text("")
        return path
    path.mkdir(mode=0o700)
    if kind == "another user's folder":
        os.chown(path, OTHER, OTHER)
    else:
        path.chmod({"a folder anyone may write": 0o777, "a folder others may read": 0o755}[kind])
    return path


PLANTED = {
    "another user's folder": f"is owned by another user (uid {OTHER}",
    "a folder anyone may write": "has mode 0777",
    "a folder others may read": "has mode 0755",
    "a symlink to a private folder": "is a symbolic link",
    "a file": "is not a folder",
}


@pytest.mark.parametrize("creator", list(CREATORS))
@pytest.mark.parametrize("kind", list(PLANTED))
def test_a_private_folder_made_first_by_someone_else_is_refused(temp: Path, no_data_dir: Path, kind: str,
                                                                 creator: str) -> None:
    private = temp / f"hub-{os.geteuid()}"
    planted = _plant(kind, private)
    with pytest.raises(SetupError) as refused:
        CREATORS[creator](no_data_dir, 8202)
    said = str(refused.value)
    assert said.startswith(f"{private} {PLANTED[kind]}") and "HUB_DATA_DIR" in said, said
    if planted.is_dir():
        assert list(planted.iterdir()) == []


def test_a_temporary_directory_in_which_others_could_replace_the_private_folder_is_refused(
        temp: Path, no_data_dir: Path) -> None:
    """A TMPDIR anyone may write without the sticky bit: another user could rename this user's folder away and put
    theirs in its place once it has been checked."""
    temp.chmod(0o777)
    with pytest.raises(SetupError) as refused:
        rate_table.create_for_server(no_data_dir, 8207)
    assert str(refused.value).startswith(f"{temp} can be written by other users (mode 0777)"), str(refused.value)
    assert not (temp / f"hub-{os.geteuid()}").exists()


@pytest.mark.parametrize("kind, said", [
    ("run owned by another user", f"run is owned by another user (uid {OTHER}"),
    ("run writable by its group", "run has mode 0775"),
    ("run writable by anyone", "run has mode 0777"),
    ("run a symlink to a private folder", "run is a symbolic link"),
    ("run a file", "run is not a folder"),
    ("data dir writable by anyone", "data can be written by other users (mode 0777)"),
    ("data dir owned by another user", f"data is owned by another user (uid {OTHER})"),
])
def test_a_run_folder_or_data_dir_others_can_change_is_refused(tmp_path: Path, kind: str, said: str) -> None:
    data_dir = tmp_path / "data"
    run = data_dir / "run"
    data_dir.mkdir()
    if kind.startswith("run a symlink"):
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        run.symlink_to(tmp_path / "elsewhere")
    elif kind == "run a file":
        run.write_text("")
    else:
        run.mkdir(mode=0o700)
    if kind == "run owned by another user":
        os.chown(run, OTHER, OTHER)
    elif kind.startswith("run writable"):
        run.chmod(0o775 if "group" in kind else 0o777)
    elif kind == "data dir writable by anyone":
        data_dir.chmod(0o777)
    elif kind == "data dir owned by another user":
        os.chown(data_dir, OTHER, OTHER)
    with pytest.raises(SetupError, match="HUB_DATA_DIR") as refused:
        rate_table.create_for_server(data_dir, 8203)
    assert said in str(refused.value)
    assert not list((tmp_path / "elsewhere").glob("*")) and not list(run.glob("*.table"))


def test_the_data_dir_the_embedded_postgresql_makes_is_one_the_run_folder_may_be_in(tmp_path: Path) -> None:
    """Under a umask that lets the group write (002: the usual one with a group per user), the data directory made
    for the embedded PostgreSQL was group-writable, so ``hub serve --workers N`` refused its run folder. (In a
    process of its own: the umask and XDG_RUNTIME_DIR are the process's.)"""
    code = ("import os, sys; from pathlib import Path; os.umask(0o002); from hub.db.embedded import EmbeddedPostgres; "
            "from hub.run_dir import run_dir; pg = EmbeddedPostgres(Path(sys.argv[1])).start()\n"
            "try: print(run_dir(Path(sys.argv[1])))\nfinally: pg.stop()")
    environ = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "data")], capture_output=True, text=True,
                          timeout=300, env=environ)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split()[-1:] == [str(tmp_path / "data" / "run")], done.stdout + done.stderr


def test_a_run_folder_others_may_only_read_and_a_sticky_data_dir_are_used(tmp_path: Path) -> None:
    """An earlier version made ``run`` with the umask's mode (0755): nobody else can write it, so it is used; a data
    directory anyone may write but only its owners rename in (sticky, like /tmp) cannot have its run folder replaced."""
    data_dir = tmp_path / "data"
    (data_dir / "run").mkdir(parents=True)
    (data_dir / "run").chmod(0o755)
    data_dir.chmod(0o1777)
    assert rate_table.create_for_server(data_dir, 8204) == data_dir / "run" / "rate-limit-8204.table"


OPENERS: dict[str, Callable[[Path], object]] = {
    "rate-limit table": RateTable.open,
    "websocket table": SocketTable.open,
    "audit turn file": HostTurn,
}


@pytest.mark.parametrize("opener", list(OPENERS))
@pytest.mark.parametrize("kind, said", [
    ("a symlink swapped in", "it is a symbolic link"),
    ("another user's file", f"it is owned by another user (uid {OTHER}"),
    ("a file others may read", "it has mode 0644"),
])
def test_a_worker_opens_its_run_file_only_as_this_users_own_file(tmp_path: Path, opener: str, kind: str,
                                                                   said: str) -> None:
    """A worker opens the path the parent passed it in the environment: a symlink put there after the parent
    made the file (to another table, or to any file the hub may write) is not followed, and a file that someone
    else owns or may read is not used."""
    path = CREATORS[opener](tmp_path / "data", 8205)
    if kind == "a symlink swapped in":
        moved = path.with_name("moved")
        path.rename(moved)
        path.symlink_to(moved)
    elif kind == "another user's file":
        os.chown(path, OTHER, OTHER)
    else:
        path.chmod(0o644)
    with pytest.raises(SetupError) as refused:
        OPENERS[opener](path)
    assert f"{opener} {path}: {said}" in str(refused.value)


def test_a_worker_goes_without_an_audit_turn_whose_file_is_a_symlink(tmp_path: Path) -> None:
    path = audit_turn.create_for_server(tmp_path / "data", 8206)
    target = tmp_path / "target"
    target.write_bytes(b"")
    path.unlink()
    path.symlink_to(target)
    assert HostTurn.from_env({TURN_ENV: str(path)}) is None  # the turn is never a reason not to serve


def test_hub_serve_without_a_writable_data_dir_uses_this_users_private_folder(server_url: str, tmp_path: Path,
                                                                              no_data_dir: Path) -> None:
    """A real ``hub serve --workers 2`` whose data directory cannot hold a run folder: a private folder of the
    temporary directory that another user made first stops it with a said error (no traceback) and nothing in
    that folder; once it is gone, the hub makes its own (0700) and keeps every shared file there."""
    settings, tokens = empty_database(server_url, SCRATCH_DB)
    temp = tmp_path / "tmp"
    temp.mkdir()
    temp.chmod(0o1777)
    private = temp / f"hub-{os.geteuid()}"
    private.mkdir(mode=0o700)
    os.chown(private, OTHER, OTHER)
    env = {"TMPDIR": str(temp), "HUB_METRICS": "true", "COLUMNS": "500"}
    refused = subprocess.run(serve_command(free_port(), 2), capture_output=True, text=True, timeout=120,
                             env=serve_environment(settings.database_url, no_data_dir, **env))
    out = refused.stdout + refused.stderr
    assert refused.returncode == 1, out
    assert f"error: {private} is owned by another user (uid {OTHER}" in out and "HUB_DATA_DIR" in out, out
    assert "Traceback" not in out and list(private.iterdir()) == []
    private.rmdir()
    proc, base = serve_workers(settings.database_url, no_data_dir, tmp_path / "hub.log", 2, **env)
    port = base.rsplit(":", 1)[1]
    try:
        assert _mode(private) == 0o700
        assert sorted(p.name for p in private.iterdir()) == [
            f"audit-turn-{port}.lock", f"audit-turn-{port}.lock.waiting", f"metrics-{port}", f"rate-limit-{port}.table",
            f"websockets-{port}.table"]
        answer = httpx.post(base + "/graphql", json={"query": "{ __typename }"}, timeout=30,
                            headers={"Authorization": f"Bearer {tokens['labor']}"})
        assert answer.status_code == 200, answer.text
    finally:
        stop_served(proc)
    assert list(private.iterdir()) == []  # hub serve removes its files at exit; the folder stays for the next run
