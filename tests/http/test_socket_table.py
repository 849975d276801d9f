"""A consumer's open websockets are capped for the host whatever the number of workers (hub.http.socket_table).

Processes sharing a table count against one cap, a worker that dies (SIGKILL) stops counting at once, and a real
``hub serve --workers 2`` admits the cap in all, not the cap per worker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hub.api.ws_limits import SocketSlots, TooManySockets
from hub.errors import SetupError
from hub.http.socket_table import LOCK_WAIT_SECONDS, SocketTable, create_for_server
from tests.support.database import empty_database
from tests.support.live import serve_workers, stop_served, worker_processes

SCRATCH_DB = "hub_test_socket_workers"
CAP = 3

_HOLDER = """
import sys
from hub.api.ws_limits import SocketSlots
from hub.http import socket_table
from hub.http.socket_table import SocketTable
socket_table.LOCK_WAIT_SECONDS = float(sys.argv[4])
slots = SocketSlots(int(sys.argv[2]), table=SocketTable.open(sys.argv[1]))
print("opened", flush=True)
sys.stdin.readline()
held = [slots.take(7) for _ in range(int(sys.argv[3]))]
print("ready", flush=True)
sys.stdin.read()  # until killed
"""


def _opened(path: Path, cap: int, sockets: int, lock_wait: float = LOCK_WAIT_SECONDS) -> subprocess.Popen:
    """Another worker, its table open: on a line on its stdin, it takes ``sockets`` sockets of consumer 7, then
    prints ``ready`` and holds them until killed."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path), str(cap), str(sockets), str(lock_wait)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "opened"
    return proc


def _go(proc: subprocess.Popen) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


def _holder(path: Path, cap: int, sockets: int) -> subprocess.Popen:
    """Another worker holding ``sockets`` sockets of consumer 7 in the table."""
    proc = _opened(path, cap, sockets)
    _go(proc)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_the_sockets_of_another_worker_count_until_it_dies(tmp_path: Path) -> None:
    path = SocketTable.create(tmp_path / "sockets.table", regions=4)
    other = _holder(path, CAP, 2)
    table = SocketTable.open(path)
    try:
        slots = SocketSlots(CAP, table=table)
        first = slots.take(7)  # 2 elsewhere + 1 here
        with pytest.raises(TooManySockets):
            slots.take(7)
        slots.take(8)  # another consumer has its own cap
        first.release()
        again = slots.take(7)  # a slot given back here counts at once
        with pytest.raises(TooManySockets):
            slots.take(7)
        other.kill()  # SIGKILL: no clean-up ran; its region's owner lock is dropped by the kernel
        other.wait(timeout=30)
        more = [slots.take(7), slots.take(7)]  # its 2 sockets died with it: nothing leaked
        with pytest.raises(TooManySockets):
            slots.take(7)
        assert slots.held(7) == CAP and table.elsewhere(7) == 0
        for slot in (again, *more):
            slot.release()
        assert table.elsewhere(7) == 0 and slots.held(7) == 0
    finally:
        if other.poll() is None:
            other.kill()
        table.close()


def test_a_worker_replacing_a_dead_one_starts_from_zero(tmp_path: Path) -> None:
    path = SocketTable.create(tmp_path / "sockets.table", regions=1)  # one region: the replacement must reuse it
    dead = _holder(path, CAP, CAP)
    with pytest.raises(SetupError, match="live worker"):
        SocketTable.open(path)  # every region has a live worker
    dead.kill()
    dead.wait(timeout=30)
    table = SocketTable.open(path)
    try:
        assert table.region == 0
        slots = SocketSlots(CAP, table=table)
        assert len([slots.take(7) for _ in range(CAP)]) == CAP
    finally:
        table.close()


def _take_many(path: str, n: int, start, results) -> None:
    slots = SocketSlots(n, table=SocketTable.open(Path(path)))
    start.wait()
    admitted = []
    for _ in range(n):
        try:
            admitted.append(slots.take(7))
        except TooManySockets:
            pass
    results.put(len(admitted))
    start.wait()  # hold them until every process has counted


def test_workers_admitting_at_once_admit_the_cap_in_all(tmp_path: Path) -> None:
    path = SocketTable.create(tmp_path / "sockets.table", regions=8)
    ctx = multiprocessing.get_context("spawn")  # like uvicorn's workers
    start, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_take_many, args=(str(path), 10, start, results)) for _ in range(4)]
    for proc in procs:
        proc.start()
    admitted = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    assert sum(admitted) == 10, admitted  # per-process counts would admit 4 x 10


def test_a_worker_counts_and_takes_under_the_host_wide_lock(tmp_path: Path) -> None:
    """Two workers cannot both admit the cap's last socket: a take waits while another worker holds the lock."""
    path = SocketTable.create(tmp_path / "sockets.table", regions=2)
    table = SocketTable.open(path)
    other = _opened(path, CAP, 1, lock_wait=60.0)  # it waits for the lock as long as the test holds it
    try:
        with table.locked():
            _go(other)
            assert other.stdout is not None
            waiting, _, _ = select.select([other.stdout], [], [], 1.0)
            assert waiting == []  # its take waits for the lock
        assert other.stdout.readline().strip() == "ready"
        assert table.elsewhere(7) == 1
    finally:
        other.kill()
        table.close()


def test_a_worker_stopped_holding_the_lock_does_not_stall_the_others(tmp_path: Path, caplog) -> None:
    path = SocketTable.create(tmp_path / "sockets.table", regions=2)
    code = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX, 1, 0); "
            "print('locked', flush=True); sys.stdin.read()")
    stuck = subprocess.Popen([sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    table = SocketTable.open(path)  # claimed before the lock is taken away
    try:
        assert stuck.stdout is not None and stuck.stdout.readline().strip() == "locked"
        stuck.send_signal(signal.SIGSTOP)
        slots = SocketSlots(CAP, table=table)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="hub.auth"):
            slots.take(7)
        assert time.monotonic() - started < 1.0
        assert "lock was not had" in caplog.text
        assert slots.held(7) == 1
    finally:
        stuck.kill()
        table.close()


def test_a_full_region_counts_the_consumers_beyond_locally_and_says_so(tmp_path: Path, caplog) -> None:
    path = SocketTable.create(tmp_path / "sockets.table", regions=2, slots=1)
    table, onlooker = SocketTable.open(path), SocketTable.open(path)  # two workers' views (regions 0 and 1)
    try:
        slots = SocketSlots(1, table=table)
        with caplog.at_level(logging.WARNING, logger="hub.auth"):
            first, second = slots.take(1), slots.take(2)  # consumer 2 finds no free slot in the region
        assert "region of this worker is full" in caplog.text
        assert (onlooker.elsewhere(1), onlooker.elsewhere(2)) == (1, 0)  # the other workers undercount consumer 2
        with pytest.raises(TooManySockets):
            slots.take(2)  # still capped by this worker's own count
        first.release()
        assert onlooker.elsewhere(1) == 0
        second.release()
        slots.take(3)  # the slot consumer 1 gave back serves the next consumer
        assert onlooker.elsewhere(3) == 1
    finally:
        onlooker.close()
        table.close()


@pytest.mark.parametrize(("content", "error"), [(b"x" * 4096, "not a websocket table"), (None, "cannot open")])
def test_a_file_that_is_not_a_table_is_a_setup_error(tmp_path: Path, content: bytes | None, error: str) -> None:
    if content is not None:
        (tmp_path / "bad.table").write_bytes(content)
        (tmp_path / "bad.table").chmod(0o600)  # a run file's mode (hub.run_dir): the content is what is wrong
    with pytest.raises(SetupError, match=error):
        SocketTable.open(tmp_path / "bad.table")


def test_hub_serve_makes_a_region_per_worker_and_as_many_spare(tmp_path: Path) -> None:
    assert create_for_server(tmp_path, 8125, workers=3) == tmp_path / "run" / "websockets-8125.table"
    table = SocketTable.open(tmp_path / "run" / "websockets-8125.table")
    try:
        assert table.regions == 6
    finally:
        table.close()


# -- a real server with two workers ---------------------------------------------------------------------

async def _attempts(url: str, token: str, n: int) -> tuple[list, list[int]]:
    """``n`` sockets opened at once (new connections: both workers accept some): the acknowledged ones (left open)
    and the close codes of the refused ones."""

    async def one() -> object:
        ws = await connect(url, subprotocols=["graphql-transport-ws"], open_timeout=30)
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else -1
        assert message["type"] == "connection_ack", message
        return ws

    outcomes = await asyncio.gather(*(one() for _ in range(n)))
    return [o for o in outcomes if not isinstance(o, int)], sorted(o for o in outcomes if isinstance(o, int))


def _holding_sockets(proc: subprocess.Popen, port: int) -> list[psutil.Process]:
    """The workers of ``proc`` with an established connection on ``port``."""
    return [w for w in worker_processes(proc)
            if any(c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED for c in w.net_connections("tcp"))]


def test_two_workers_admit_the_cap_per_consumer_not_twice_and_a_killed_one_frees_its_slots(
        server_url: str, tmp_path: Path) -> None:
    settings, tokens = empty_database(server_url, SCRATCH_DB)
    log = tmp_path / "hub.log"
    proc, base = serve_workers(settings.database_url, tmp_path / "data", log, 2,
                               HUB_WS_MAX_SOCKETS_PER_CONSUMER=str(CAP), HUB_RATE_LIMIT_PER_SECOND="0")
    port = int(base.rsplit(":", 1)[1])
    url = base.replace("http://", "ws://") + "/graphql"
    table = tmp_path / "data" / "run" / f"websockets-{port}.table"

    async def session() -> dict[str, object]:
        held, refused = await _attempts(url, tokens["labor"], 4 * CAP)
        others, _ = await _attempts(url, tokens["commerce"], CAP)
        holders = _holding_sockets(proc, port)
        holders[0].kill()  # its sockets die with it (the clients see 1006); uvicorn starts a new worker
        deadline = time.monotonic() + 120
        while log.read_text().count("Application startup complete") < 3:
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.2)
        for ws in held + others:
            await ws.close()
        await asyncio.sleep(0.5)  # the live worker has seen its sockets close
        again, refused_again = await _attempts(url, tokens["labor"], 2 * CAP)
        for ws in again:
            await ws.close()
        return {"held": len(held), "refused": refused, "others": len(others), "again": len(again),
                "refused_again": refused_again, "holders": len(holders)}

    try:
        assert table.exists()
        got = asyncio.run(session())
    finally:
        stop_served(proc)
    assert got["held"] == CAP, got  # one cap for the host, not one per worker
    assert got["refused"] == [4429] * (3 * CAP), got
    assert got["others"] == CAP, got  # another consumer has its own cap
    assert got["again"] == CAP and got["refused_again"] == [4429] * CAP, got  # the killed worker left no slot taken
    assert not table.exists(), "hub serve leaves its websocket table behind"
