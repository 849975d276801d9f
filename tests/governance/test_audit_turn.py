"""The workers' turn at the audit chain (``hub.governance.audit_turn``): one batch at a time on the host, handed on
fairly, given back when its holder dies or gives up; the writers of two "workers" wait for each other there, not
for the chain's lock in the database, and their entries gather into larger batches meanwhile.

Real PostgreSQL for the writers (the governance tests' scratch database, ``audit_scratch``); the "workers" are
separate ``Databases`` with their own writers in one event loop, or separate processes where a process's death
matters.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import multiprocessing
import os
import signal
import time
import types
from pathlib import Path
from typing import Any, Callable

import asyncpg
import pytest

from hub.db.pools import Databases
from hub.governance.audit import AuditEntry
from hub.governance import audit_turn
from hub.governance.audit_turn import TURN_ENV, HostTurn, create_for_server
from hub.governance.audit_writer import AuditWriter
from hub.settings import Settings, SettingsError
from tests.support.audit_chain import CHAIN_LOCK, last_audit_id, verify_chain_ok
from tests.support.helpers import sql


def _entry(worker: int, i: int) -> AuditEntry:
    return AuditEntry(operation_type="query", operation_name=f"Turn{worker}Op{i}", consumer_id=worker,
                      datasets=["labor.job_postings"], rows={"labor.job_postings": i}, document_hash=f"{i:064x}",
                      trace_id=f"{worker:032x}")


def _take_turns(path: Path, holds: dict[str, int], seconds: float,
                opened: Callable[[dict[str, HostTurn]], None] | None = None) -> tuple[list[str], dict[str, HostTurn]]:
    """Holders of one turn file in one event loop, each taking the turn ``holds[name]`` times and holding it
    ``seconds`` (a batch commits), asking again as soon as it gave it back: the order they had it in, and the turns
    (closed by then). ``opened`` sees the turns before anyone asks."""
    turns: dict[str, HostTurn] = {}

    async def go() -> list[str]:
        turns.update((name, HostTurn(path)) for name in holds)
        if opened is not None:
            opened(turns)
        order: list[str] = []

        async def worker(name: str) -> None:
            for _ in range(holds[name]):
                async with turns[name].held():
                    order.append(name)
                    await asyncio.sleep(seconds)

        try:
            await asyncio.gather(*(worker(name) for name in holds))
            return order
        finally:
            for turn in turns.values():
                turn.close()

    return asyncio.run(go()), turns


def _patch_flock(monkeypatch: Any, flock: Callable[[int, int], None]) -> None:
    """``hub.governance.audit_turn`` calls ``flock`` instead of the real one (the LOCK_ constants are the real ones)."""
    monkeypatch.setattr(audit_turn, "fcntl", types.SimpleNamespace(
        flock=flock, **{name: getattr(fcntl, name) for name in dir(fcntl) if name.startswith("LOCK_")}))


def test_the_turn_is_held_by_one_at_a_time_and_handed_on_fairly(tmp_path: Path) -> None:
    """Two holders of one turn file: while one holds it the other waits; when the holder gives it back and at
    once asks again (its next batch is ready), the one that was waiting gets it first."""
    order, turns = _take_turns(create_for_server(tmp_path, 8000), {"a": 4, "b": 4}, 0.02)
    assert turns["a"].waited + turns["b"].waited >= 6
    assert sorted(order) == ["a"] * 4 + ["b"] * 4
    assert all(x != y for x, y in zip(order, order[1:])), order  # never the same holder twice while one waits


def test_with_three_workers_none_takes_the_turn_twice_while_another_waits(tmp_path: Path) -> None:
    """Three holders of one turn file, each asking again as soon as it gives the turn back: nobody has it twice in a
    row while another still has batches to write (the order among the waiters is the kernel's)."""
    order, _ = _take_turns(create_for_server(tmp_path, 8012), {"a": 4, "b": 4, "c": 4}, 0.02)
    assert sorted(order) == ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    for i in range(len(order) - 1):
        if order[i] == order[i + 1]:  # only once the others are done
            assert not set(order[i + 1:]) - {order[i]}, order


def test_a_waiter_whose_thread_runs_late_still_gets_the_turn_next(tmp_path: Path, monkeypatch) -> None:
    """A waiter waits from the moment it asks, not from when its thread runs: with its thread starting to wait late
    (a loaded host), the holder that gives the turn back and asks again at once comes after it."""
    queue_for_turn = HostTurn._queue_for_turn

    def late(self: HostTurn, wait: Any) -> bool:
        time.sleep(0.15)  # the thread scheduled late
        return queue_for_turn(self, wait)

    monkeypatch.setattr(HostTurn, "_queue_for_turn", late)
    # a takes the free turn; b asks while a holds it; a gives it back and asks again before b's thread runs
    order, _ = _take_turns(create_for_server(tmp_path, 8009), {"a": 2, "b": 1}, 0.05)
    assert order == ["a", "b", "a"]


def test_the_waiter_gets_the_turn_before_a_holder_that_asks_again(tmp_path: Path, monkeypatch) -> None:
    """``flock`` does not hand the turn over: a waiter's thread, woken when the turn is given back, must run to take
    it, and a holder that asks again at once may get there first. The waiter has the turn next all the
    same: here its wake-ups come 0.1 s apart (a loaded host), and the holder that gave the turn back and asked again
    still comes after it."""
    slow: list[int] = []  # the turn file descriptor whose waits wake up late

    def flock(fd: int, operation: int) -> None:
        if fd in slow and operation == fcntl.LOCK_EX:  # a blocking wait for the turn, woken late
            while True:
                try:
                    return fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    time.sleep(0.1)
        return fcntl.flock(fd, operation)

    _patch_flock(monkeypatch, flock)
    order, _ = _take_turns(create_for_server(tmp_path, 8010), {"a": 2, "b": 1}, 0.05,
                           opened=lambda turns: slow.append(turns["b"]._turn))
    assert order == ["a", "b", "a"]


def test_a_turn_flock_refuses_runs_the_batch_without_it_and_leaves_no_wait_held(tmp_path: Path,
                                                                                   monkeypatch) -> None:
    """``flock`` may fail (ENOLCK: no locks available, e.g. on a network file system): the batch runs without the
    turn, as when the turn is not had in time, rather than failing the operations; and the lock on ``.waiting`` that
    the waiter took when it asked is let go of, or every other worker would see a waiter for good from then on."""
    path = create_for_server(tmp_path, 8011)
    refusing: list[int] = []  # the .waiting descriptor whose blocking flock fails (in the waiter thread)

    def flock(fd: int, operation: int) -> None:
        if fd in refusing and operation == fcntl.LOCK_SH:
            raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))
        return fcntl.flock(fd, operation)

    _patch_flock(monkeypatch, flock)

    async def go() -> tuple[list[str], bool, bool]:
        a, b = HostTurn(path), HostTurn(path)
        refusing.append(b._waiting)
        ran: list[str] = []
        try:
            async with a.held():
                async with b.held():  # a holds the turn: b waits, and its thread's flock fails
                    ran.append("b")
            return ran, _free(f"{path}.waiting"), _free(path)  # both still open: nothing of theirs is held any more
        finally:
            a.close()
            b.close()

    assert asyncio.run(asyncio.wait_for(go(), 10)) == (["b"], True, True)


def test_a_wait_without_a_thread_runs_the_batch_without_the_turn_and_leaves_no_wait_held(tmp_path: Path,
                                                                                         monkeypatch) -> None:
    """A wait runs in a thread of its own, started on the first wait; when the host allows no more threads
    (``RuntimeError: can't start new thread``) the batch runs without the turn rather than failing the operations,
    and the lock on ``.waiting`` taken when the waiter asked is let go of (held, every other worker would yield to
    a waiter that never comes). The next wait, once a thread can start, has the turn as usual."""
    path = create_for_server(tmp_path, 8012)
    start = audit_turn.threading.Thread.start
    refused: list[str] = []

    def no_thread(thread: Any) -> None:
        if thread.name == "hub-audit-turn" and not refused:
            refused.append(thread.name)
            raise RuntimeError("can't start new thread")
        start(thread)

    monkeypatch.setattr(audit_turn.threading.Thread, "start", no_thread)

    async def go() -> tuple[list[str], bool, bool]:
        a, b = HostTurn(path), HostTurn(path)
        ran: list[str] = []
        try:
            async with a.held():
                async with b.held():  # a holds the turn: b must wait, and its thread cannot start
                    ran.append("b without the turn")
                waiting_free = _free(f"{path}.waiting")

            async def a_holds_a_moment() -> None:
                async with a.held():
                    await asyncio.sleep(0.1)

            holding = asyncio.create_task(a_holds_a_moment())
            await asyncio.sleep(0.02)
            async with b.held():  # a holds the turn again: b waits, in a thread that starts now, and gets it
                ran.append("b with the turn")
                turn_held = not _free(path) and holding.done()
            await holding
            return ran, waiting_free, turn_held
        finally:
            a.close()
            b.close()

    ran, waiting_free, turn_held = asyncio.run(asyncio.wait_for(go(), 10))
    assert refused == ["hub-audit-turn"]
    assert ran == ["b without the turn", "b with the turn"]
    assert waiting_free and turn_held


def test_a_waiter_that_gives_up_does_not_keep_the_turn(tmp_path: Path) -> None:
    """A waiter cancelled before its turn came (the loop is stopping): when the turn is granted to its thread
    later, it is given back at once, and the next one gets it."""
    path = create_for_server(tmp_path, 8001)

    async def go() -> float:
        a, b, c = HostTurn(path), HostTurn(path), HostTurn(path)
        try:
            async with a.held():
                waiting = asyncio.ensure_future(_hold(b))
                await asyncio.sleep(0.1)
                waiting.cancel()
                await asyncio.gather(waiting, return_exceptions=True)
            await asyncio.sleep(0.2)  # b's thread is granted the turn now, for nobody
            started = time.monotonic()
            async with c.held():
                return time.monotonic() - started
        finally:
            for turn in (a, b, c):
                turn.close()

    assert asyncio.run(asyncio.wait_for(go(), 10)) < 5


async def _hold(turn: HostTurn) -> None:
    async with turn.held():
        await asyncio.sleep(3600)


def _hold_forever(path: str, ready: Any) -> None:
    async def go() -> None:
        turn = HostTurn(path)
        async with turn.held():
            ready.set()
            await asyncio.sleep(3600)
    asyncio.run(go())


def test_the_turn_of_a_killed_worker_comes_back(tmp_path: Path) -> None:
    path = create_for_server(tmp_path, 8002)
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_forever, args=(str(path), ready))
    holder.start()
    try:
        assert ready.wait(30)

        async def go() -> float:
            turn = HostTurn(path)
            try:
                started = time.monotonic()
                waiting = asyncio.ensure_future(_take(turn))
                await asyncio.sleep(0.2)
                assert not waiting.done()  # the living holder keeps it
                os.kill(holder.pid, signal.SIGKILL)
                await asyncio.wait_for(waiting, 10)
                return time.monotonic() - started
            finally:
                turn.close()

        assert asyncio.run(go()) < 10
    finally:
        holder.join(10)


async def _take(turn: HostTurn) -> None:
    async with turn.held():
        pass


def test_two_workers_writers_wait_for_their_turn_on_the_host_not_for_the_chain_lock(audit_scratch, tmp_path) -> None:
    """While another worker holds the turn, a writer sends nothing: no batch waits for the chain's lock in the
    database, and the entries queued meanwhile go out as one batch per worker once the turn is free."""
    settings, _ = audit_scratch
    url = settings.database_url
    path = create_for_server(tmp_path, 8003)
    before = last_audit_id(url)

    async def go() -> None:
        dbs = [await Databases(settings, url).open() for _ in range(2)]
        writers = [AuditWriter(db.hub, turn=HostTurn(path)) for db in dbs]
        holder = HostTurn(path)
        watcher = await asyncpg.connect(url)
        try:
            async with holder.held():
                writes = [asyncio.ensure_future(w.write(_entry(n, i))) for i in range(10) for n, w in enumerate(writers)]
                await asyncio.sleep(0.3)
                assert not any(w.done() for w in writes)
                waiting = await watcher.fetchval("select count(*) from pg_locks where locktype = 'advisory' "
                                                 "and objid = $1", CHAIN_LOCK)
                assert waiting == 0  # nobody holds or waits for the chain's lock: the writers wait here
            await asyncio.wait_for(asyncio.gather(*writes), 30)
            assert [w.batches for w in writers] == [1, 1] or sorted(w.batches for w in writers) == [1, 2]
        finally:
            await watcher.close()
            holder.close()
            for w, db in zip(writers, dbs):
                await w.close()
                await db.close()

    asyncio.run(go())
    rows = sql(url, "select xmin::text as tx, count(*) as n from hub.audit_log where id > $1 group by 1", before)
    assert sum(r["n"] for r in rows) == 20 and len(rows) <= 3  # one batch per worker (its first may go alone)
    verify_chain_ok(url)


def test_hub_serve_s_workers_share_a_turn_by_default(tmp_path: Path) -> None:
    assert Settings.from_env({}).audit_turn is True and Settings.from_env({"HUB_AUDIT_TURN": "false"}).audit_turn is False
    assert HostTurn.from_env({}) is None
    path = create_for_server(tmp_path, 8004)
    turn = HostTurn.from_env({TURN_ENV: str(path)})
    try:
        assert turn is not None and turn.path == str(path)
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    finally:
        turn.close()


@pytest.mark.parametrize("value", ["true", "1", "YES", "on", "sometimes"])
def test_the_removed_audit_relay_turned_on_stops_the_hub_naming_the_turn(value: str) -> None:
    """HUB_AUDIT_RELAY is gone (the turn replaced it): an operator who turns it on is told so, not ignored."""
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"HUB_AUDIT_RELAY": value})
    said = str(refused.value)
    assert said.startswith(f"HUB_AUDIT_RELAY={value}: the audit relay was removed") and "HUB_AUDIT_TURN" in said, said


@pytest.mark.parametrize("value", [None, "", "false", "0", "No", "off"])
def test_the_removed_audit_relay_left_off_is_accepted(value: str | None) -> None:
    env = {} if value is None else {"HUB_AUDIT_RELAY": value}
    assert Settings.from_env(env).audit_turn is True
    assert Settings.from_env({**env, "HUB_AUDIT_TURN": "false"}).audit_turn is False


def test_a_turn_held_elsewhere_for_too_long_is_not_waited_for(tmp_path: Path) -> None:
    """Another process keeps the turn (stuck, or any process that can open the file): after ``wait_seconds`` the
    block runs without the turn (the chain's lock in the database still orders the batches); the turn granted
    later to the given-up waiter is given back, so the next batch gets it."""
    path = create_for_server(tmp_path, 8005)

    async def go() -> tuple[float, int, float]:
        stuck, turn = HostTurn(path), HostTurn(path, wait_seconds=0.3)
        try:
            started = time.monotonic()
            async with stuck.held():
                async with turn.held():
                    waited = time.monotonic() - started
                for _ in range(3):  # meanwhile, no further wait: the batches go without the turn at once
                    again = time.monotonic()
                    async with turn.held():
                        assert time.monotonic() - again < 0.1
            await asyncio.sleep(0.2)  # the given-up wait is granted now, and given back
            again = time.monotonic()
            async with turn.held():
                return waited, turn.given_up, time.monotonic() - again
        finally:
            stuck.close()
            turn.close()

    waited, given_up, second = asyncio.run(asyncio.wait_for(go(), 10))
    assert 0.25 < waited < 3 and given_up == 1 and second < 0.25


def _wait_for_turn(path: str, asking: Any) -> None:
    async def go() -> None:
        turn = HostTurn(path, wait_seconds=3600)
        asking.set()
        async with turn.held():
            pass
    asyncio.run(go())


def test_a_waiter_that_never_takes_the_turn_does_not_stall_the_one_that_gave_it_back(tmp_path: Path) -> None:
    """A worker that gave the turn back while another waited lets it go to that one (``_must_yield``), but a waiter
    that never takes it (a stopped process, still holding ``.waiting``) is not waited for until the wait runs out:
    the worker has the turn again soon, for every batch, not after ``wait_seconds`` each time."""
    path = create_for_server(tmp_path, 8013)
    context = multiprocessing.get_context("spawn")
    asking = context.Event()
    waiter = context.Process(target=_wait_for_turn, args=(str(path), asking))

    async def go() -> tuple[int, list[float]]:
        turn = HostTurn(path, wait_seconds=2)
        took: list[float] = []
        try:
            async with turn.held():
                waiter.start()
                assert asking.wait(30)
                await asyncio.sleep(0.5)  # the waiter is blocked in flock for the turn, holding .waiting
                os.kill(waiter.pid, signal.SIGSTOP)
                while not _stopped(waiter.pid):  # all its threads, before the turn is free
                    await asyncio.sleep(0.01)
            for _ in range(2):  # each batch: the turn was given back while the stopped one waited
                started = time.monotonic()
                async with turn.held():
                    took.append(time.monotonic() - started)
                    assert not _free(path)  # held
                await asyncio.sleep(0.2)  # (a wait given up would have ended by now)
            return turn.given_up, took
        finally:
            turn.close()

    try:
        given_up, took = asyncio.run(asyncio.wait_for(go(), 30))
    finally:
        if waiter.pid is not None:
            os.kill(waiter.pid, signal.SIGKILL)
            waiter.join(10)
    assert given_up == 0, took  # without a bound on yielding: each batch waits the full 2 s, then goes without it


def _stopped(pid: int) -> bool:
    return all((task / "stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
               for task in Path(f"/proc/{pid}/task").iterdir())


def _free(path: str | Path) -> bool:
    """Nobody holds a flock on ``path``."""
    probe = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(probe)
