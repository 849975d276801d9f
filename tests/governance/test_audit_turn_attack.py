"""An attacker's review of the workers' turn at the audit chain (``hub.governance.audit_turn``) and the writer that
takes it (``hub.governance.audit_writer``): each test is a way around "a turn is never a reason to fail or stall an
operation, or a worker" that worked on the code before its fix.

The turn is a real ``flock`` on a file in a temporary folder; "another process keeps the turn" is a second open
file description holding it (as a stuck worker's would), a "worker" a separate Python process where its exit
matters.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.errors import SetupError
from hub.governance.audit import AuditEntry
from hub.governance.audit_turn import TURN_ENV, HostTurn, create_for_server
from hub.governance.audit_writer import UnbuildableEntry, entry_rest
from tests.support.audit_chain import last_audit_id, verify_chain_ok
from tests.support.helpers import sql

_GIVE_UP_AND_EXIT = textwrap.dedent("""
    import asyncio, sys
    from hub.governance.audit_turn import HostTurn

    async def main() -> None:
        turn = HostTurn(sys.argv[1], wait_seconds=0.2)
        async with turn.held():  # the turn is kept elsewhere: given up after 0.2 s, the block runs without it
            pass
        assert turn.given_up == 1
        turn.close()  # what the app's shutdown does (AuditWriter.close)

    asyncio.run(main())
    print("stopped", flush=True)
""")


def test_a_worker_whose_turn_wait_was_given_up_still_exits(tmp_path: Path) -> None:
    """The waiter thread of a given-up wait stays blocked in flock while another process keeps the turn. It was a
    thread of concurrent.futures, which the interpreter joins at exit: the worker finished its shutdown and then
    hung, until the other process let go (``hub serve``'s stop waited on it for ever)."""
    path = create_for_server(tmp_path, 8100)
    keeper = os.open(path, os.O_RDWR)
    fcntl.flock(keeper, fcntl.LOCK_EX)
    worker = subprocess.Popen([sys.executable, "-c", _GIVE_UP_AND_EXIT, str(path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        try:
            out, err = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            out, err = worker.communicate()
            raise AssertionError(f"the worker did not exit while another process kept the turn: {out!r} {err!r}")
        assert worker.returncode == 0 and out == "stopped\n", (out, err)
    finally:
        fcntl.flock(keeper, fcntl.LOCK_UN)
        os.close(keeper)


@pytest.mark.parametrize("odd", ["a folder", "its waiting file a folder"])
def test_a_turn_file_that_cannot_be_opened_does_not_keep_the_hub_from_serving(
        settings, tokens, tmp_path: Path, monkeypatch, odd: str) -> None:
    """HUB_AUDIT_TURN_FILE naming a folder (or a path whose ".waiting" file is one): the app's start-up failed with
    IsADirectoryError, so no operation was answered. The turn only spares the database a wait: the hub serves
    without it, and every operation still leaves its entry."""
    path = tmp_path / "turn.lock"
    (path if odd == "a folder" else Path(f"{path}.waiting")).mkdir()
    monkeypatch.setenv(TURN_ENV, str(path))
    url = settings.database_url
    before = last_audit_id(url)
    with TestClient(create_app(settings)) as client:
        assert client.app.state.audit.turn is None
        answer = client.post("/graphql", json={"query": "query TurnlessOp { __typename }"},
                             headers={"Authorization": f"Bearer {tokens['labor']}"})
        assert answer.status_code == 200 and answer.json()["data"] == {"__typename": "Query"}, answer.text
    names = [r["operation_name"] for r in sql(url, "select operation_name from hub.audit_log where id > $1", before)]
    assert names == ["TurnlessOp"]
    verify_chain_ok(url)


def test_a_closed_turn_s_late_wait_does_not_give_back_another_turn_s_hold(tmp_path: Path) -> None:
    """A turn closed while its given-up wait is still blocked in flock (the app stopped): its files were closed
    under the wait, so a turn opened next in the process got the same descriptor numbers, and the late wait's
    give-back unlocked that new turn while it was held: a third holder got the turn at the same time."""
    path = create_for_server(tmp_path, 8101)
    keeper = os.open(path, os.O_RDWR)
    fcntl.flock(keeper, fcntl.LOCK_EX)

    async def go() -> bool:
        old = HostTurn(path, wait_seconds=0.1)
        async with old.held():  # the keeper has it: given up, the wait goes on in the thread
            pass
        old.close()
        new = HostTurn(path)
        try:
            fcntl.flock(keeper, fcntl.LOCK_UN)  # the late wait is granted now
            time.sleep(0.3)  # (the event loop is busy meanwhile)
            assert new._take_at_once()  # the new turn holds it (the late wait has given it back)
            await asyncio.sleep(0.3)  # what the loop had to do for the late wait
            third = os.open(path, os.O_RDWR)
            try:
                fcntl.flock(third, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            finally:
                os.close(third)
            return False
        finally:
            new.close()

    try:
        assert asyncio.run(asyncio.wait_for(go(), 10)), "a third holder took the turn the new turn held"
    finally:
        os.close(keeper)


def test_an_entry_with_an_infinite_row_count_fails_alone_as_unbuildable() -> None:
    """``int(inf)`` raises OverflowError, not ValueError: it escaped ``entry_rest`` (and left the waiter's span
    open) instead of refusing the entry as UnbuildableEntry."""
    with pytest.raises(UnbuildableEntry):
        entry_rest(AuditEntry(operation_type="query", rows={"labor.job_postings": float("inf")}))  # type: ignore[dict-item]


def test_closing_a_turn_twice_closes_its_files_once(tmp_path: Path) -> None:
    """A second ``close()`` closed the turn's descriptors again: by then their numbers can belong to other files
    of the process (here: a file opened in between), which it closed."""
    turn = HostTurn(create_for_server(tmp_path, 8010))
    turn.close()
    other = os.open(tmp_path / "other", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        turn.close()
        os.fstat(other)  # still open
    finally:
        os.close(other)


def test_a_data_folder_that_cannot_hold_the_turn_file_is_a_setup_error(tmp_path: Path, monkeypatch) -> None:
    """``hub serve --workers N`` creates the turn file in the run folder before the workers: a data folder that is a
    file (or cannot be written) sends it to this user's folder in the temporary directory (``hub.run_dir``); when
    that cannot be made either, a bare OSError (a traceback) would stop the hub: it is a SetupError, said in one
    line."""
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file")
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_folder))  # no folder can be made in it either
    with pytest.raises(SetupError, match="cannot create the private folder .* set HUB_DATA_DIR"):
        create_for_server(not_a_folder, 8011)
