"""An attacker's review of the workers' turn at the audit chain (``hub.governance.audit_turn``) and the writer that
takes it (``hub.governance.audit_writer``): each test is a way around "a turn is never a reason to fail or stall an
operation, or a worker" that worked on the code before its fix.

The turn is a real ``flock`` on a file in a temporary folder; "another process keeps the turn" is a second open
file description holding it (as a stuck worker's would), a "worker" a separate Python process where its exit
matters.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from hub.governance.audit_turn import create_for_server

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
