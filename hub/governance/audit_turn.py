"""Whose turn it is to append to the audit chain, among the worker processes of one ``hub serve --workers N``.

Every batch of the group-commit writer (``hub.governance.audit_writer``) holds the chain's advisory lock in the
database until it commits. With several workers their batches met there: one waited inside PostgreSQL, holding a
connection and counting as database time, while the other committed, and each batch stayed small because it
was sent the moment the writer was idle. With a turn, the workers of a host wait for each other here instead: a
writer takes the turn, then takes every entry queued by then as its batch, and gives the turn back when that
batch has committed. While one worker's batch commits, the others' entries gather into their next batch; no
batch waits for the lock in the database (the lock stays, for writers outside this host's workers).

The turn is an exclusive ``flock`` on a file of the run (``TURN_ENV``; ``hub serve`` creates it in the run
folder and its workers inherit the path): the kernel gives the turn back when a worker dies holding it. A free
turn is taken without blocking; a taken one is waited for in a thread of the writer's own (``flock`` has no
asynchronous form), and a turn granted after its waiter was cancelled or gave up is given back at once.
A turn is never a reason to fail or stall an operation, nor a worker's exit: see ``HostTurn.held`` and
``_WaiterThread``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from hub.errors import SetupError
from hub.run_dir import open_run_file, run_dir

TURN_ENV = "HUB_AUDIT_TURN_FILE"
WAIT_SECONDS = 5.0  # longest wait for the turn; then a batch goes without it (``HostTurn.held``)
YIELD_SECONDS = 0.001  # a worker letting the turn go to another tries again this often (``HostTurn._must_yield``)
YIELD_LIMIT_SECONDS = 0.1  # and for this long at most: a woken waiter's thread takes the turn well within it

log = logging.getLogger("hub.audit")


class HostTurn:
    """The workers' turn at the chain: an exclusive ``flock`` on ``path``, handed on fairly (see ``held``)."""

    def __init__(self, path: str | Path, wait_seconds: float = WAIT_SECONDS):
        self.path = str(path)
        self.wait_seconds = wait_seconds
        self._closed = False
        self._turn = open_run_file(self.path, os.O_RDWR | os.O_CREAT, "the audit turn file")
        try:
            # Waiters hold a shared lock on this second file while they wait for the turn (``held``).
            self._waiting = open_run_file(self.path + ".waiting", os.O_RDWR | os.O_CREAT, "the audit turn file")
        except SetupError:
            os.close(self._turn)
            raise
        self._waiter = _WaiterThread()
        self._handover = threading.Lock()  # a wait's outcome: granted to its waiter, or abandoned (``_Wait``)
        self.waited = 0  # turns this process waited for (another worker held the turn, or was waiting for it)
        self.given_up = 0  # waits that ran out (the batch went without the turn)
        self._given_up: asyncio.Future | None = None  # the last wait given up or cancelled, while its thread waits
        self._generation: int | None = None  # the turn's count when this process last took it (the turn file's)
        self._yielded: int | None = None  # that count, when this process gave the turn back while others waited

    @classmethod
    def from_env(cls, environ: Any = os.environ) -> "HostTurn | None":
        """The run's turn (``TURN_ENV``), or None: not set, or its files cannot be opened (a folder, a missing or
        read-only folder, a symlink or a file that is not this user's own: ``hub.run_dir.open_run_file``): the writer
        goes without a turn, as the turn never is a reason to fail (here: to start)."""
        path = environ.get(TURN_ENV)
        if not path:
            return None
        try:
            return cls(path)
        except SetupError as exc:
            log.warning("the audit turn (%s) cannot be used (%s): this worker's batches wait for the chain's lock "
                        "in the database instead", path, exc)
            return None

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Hold the turn for the block.

        ``flock`` wakes its waiters when the turn is given back but does not hand it over: the worker that gave it
        back, still running, would take it again at once (its next batch is ready under load) and starve the
        others (measured: p99 87-164 ms). So waiters hold the ``.waiting`` file (shared) while they wait, from the
        moment they ask; the turn is taken at once only when it is free and nobody waits. A worker that gives the
        turn back while others wait lets it go to one of them: the turn file counts the turns, and until the count
        has moved on (another has had it) this worker, should its thread get the turn first (the woken waiter's
        thread not run yet, on a loaded host), gives it back again and tries a moment later (``_must_yield``), for
        ``YIELD_LIMIT_SECONDS`` at most.
        Among several waiters the turn goes to whichever the kernel lets take it: not first come, first served.

        The turn only spares the database the wait: the chain's lock still orders the batches. So a turn not had
        within ``wait_seconds`` (a holder stuck, another process holding the file) is not waited for any longer:
        the block runs without it, and the batch waits for the chain's lock as without a turn; so does a block whose
        ``flock`` fails (ENOLCK on a network file system) or whose wait finds no thread to run in, its wait on
        ``.waiting`` let go of."""
        if self._given_up is not None and not self._given_up.done():
            held = False  # a wait given up has not ended yet: no turn until it does (no 5 s per batch meanwhile)
        else:
            try:
                held = self._take_at_once() or await self._wait()
            except (OSError, RuntimeError) as exc:  # flock refused (e.g. ENOLCK on a network file system), or no
                # thread could be started to wait in: nothing is held
                log.warning("the audit turn (%s) cannot be taken (%s): this batch waits for the chain's lock in the "
                            "database instead", self.path, exc)
                held = False
        try:
            yield
        finally:
            if held:
                try:
                    self._yielded = None if self._nobody_waits() else self._generation
                except OSError:
                    self._yielded = None
                fcntl.flock(self._turn, fcntl.LOCK_UN)

    def _take_at_once(self) -> bool:
        if not self._nobody_waits():
            return False
        try:
            fcntl.flock(self._turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._taken()
        return True

    def _taken(self) -> None:
        """This process has the turn: count it in the turn file (read and written only by the turn's holder)."""
        self._yielded = None
        try:
            self._generation = (_count(self._turn) + 1) % 2**63
            os.pwrite(self._turn, self._generation.to_bytes(8, "little"), 0)
        except OSError:  # not counted: nobody yields to this turn (``_must_yield``); the turn itself is held
            self._generation = None

    def _must_yield(self, wait: "_Wait") -> bool:
        """(In the waiter thread, holding the turn.) Did this process give the turn back while others waited, and has
        nobody had it since, while someone still waits? Then it is theirs first."""
        if self._yielded is None or wait.abandoned:
            return False
        try:
            return _count(self._turn) == self._yielded and self._others_wait()
        except OSError:
            return False

    def _others_wait(self) -> bool:
        """(In the waiter thread, which holds ``.waiting`` shared.) Does another process hold it too? Exclusive is
        had only when nobody else holds it; either way this thread holds it shared again afterwards (a conversion
        that fails may have let go of it: ``flock`` converts by unlocking first)."""
        try:
            fcntl.flock(self._waiting, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            others = True
        else:
            others = False
        fcntl.flock(self._waiting, fcntl.LOCK_SH)
        return others

    def _nobody_waits(self) -> bool:
        try:
            fcntl.flock(self._waiting, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(self._waiting, fcntl.LOCK_UN)
        return True

    def _queue_for_turn(self, wait: "_Wait") -> bool:  # in the waiter thread
        try:  # ``.waiting`` is let go of however this ends (``_wait`` may hold it already)
            fcntl.flock(self._waiting, fcntl.LOCK_SH)  # waiting (held already when ``_wait`` could take it)
            fcntl.flock(self._turn, fcntl.LOCK_EX)
            # A waiter that does not take the turn within YIELD_LIMIT_SECONDS is not coming (a stopped process holding
            # .waiting): yielding longer would make each of this worker's batches wait ``wait_seconds``, then go
            # without the turn.
            until = time.monotonic() + YIELD_LIMIT_SECONDS
            while time.monotonic() < until and self._must_yield(wait):  # had it first again: let a waiter take it
                fcntl.flock(self._turn, fcntl.LOCK_UN)
                time.sleep(YIELD_SECONDS)
                fcntl.flock(self._turn, fcntl.LOCK_EX)
        finally:
            fcntl.flock(self._waiting, fcntl.LOCK_UN)
        with self._handover:
            if wait.abandoned:  # its waiter gave up or was cancelled: nobody holds it, give it back
                fcntl.flock(self._turn, fcntl.LOCK_UN)
                return False
            self._taken()
            wait.granted = True
            return True

    async def _wait(self) -> bool:
        self.waited += 1
        wait = _Wait()
        # Waiting from now on, not from when the thread gets to run: a holder that gives the turn back must see this
        # waiter even when a loaded host has not scheduled the thread yet. (The thread takes it again, a no-op then,
        # and lets go of it; when another is looking whether anyone waits this very moment, the thread takes it.)
        with contextlib.suppress(BlockingIOError):
            fcntl.flock(self._waiting, fcntl.LOCK_SH | fcntl.LOCK_NB)
        try:
            granted = self._waiter.run(lambda: self._queue_for_turn(wait))
        except RuntimeError:  # no thread to wait in (the host's thread limit): stop waiting, let go of ``.waiting``
            fcntl.flock(self._waiting, fcntl.LOCK_UN)
            raise
        try:
            return await asyncio.wait_for(asyncio.shield(granted), self.wait_seconds)
        except asyncio.TimeoutError:
            if not self._abandon(wait, granted):
                return True  # granted as the wait ran out: the turn is ours
            self.given_up += 1
            log.warning("the audit turn (%s) was not had within %.1f s: this batch waits for the chain's lock in "
                        "the database instead", self.path, self.wait_seconds)
            return False
        except asyncio.CancelledError:
            if not self._abandon(wait, granted):
                fcntl.flock(self._turn, fcntl.LOCK_UN)
            raise

    def _abandon(self, wait: "_Wait", granted: asyncio.Future) -> bool:
        """Give up ``wait``: the thread gives the turn back when it gets it. False when it already had it (this
        process holds the turn now)."""
        with self._handover:
            if wait.granted:
                return False
            wait.abandoned = True
        self._given_up = granted  # no other wait until this one's thread is free (see ``held``)
        return True

    def close(self) -> None:
        """Close the turn's files; while a given-up wait is still blocked in ``flock``, its thread closes them when
        the wait ends (closed under it, the descriptors' numbers could be reused by other files that it would then
        unlock). A second call does nothing (the descriptors' numbers may belong to other files by then)."""
        if self._closed:
            return
        self._closed = True
        self._waiter.stop(self._close_files)

    def _close_files(self) -> None:
        os.close(self._turn)
        os.close(self._waiting)


class _Wait:
    """One wait for the turn, between the event loop and the waiter thread (under ``HostTurn._handover``)."""

    __slots__ = ("granted", "abandoned")

    def __init__(self) -> None:
        self.granted = False  # the thread got the turn for a waiter still waiting: the waiter holds it
        self.abandoned = False  # the waiter stopped waiting: the thread gives back the turn when it gets it


class _WaiterThread:
    """The turn's waits, one after another, in a daemon thread of their own.

    Hand-written rather than concurrent.futures' ThreadPoolExecutor: the interpreter joins that pool's threads when
    it exits, and a wait blocked in ``flock`` (another process keeping the turn) kept a worker from exiting after
    its shutdown, until that process let go; nothing interrupts a blocked ``flock``. One thread, in order: two
    waits on one open file at once would both be granted (a flock belongs to the open file, not to the thread)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def run(self, job: Callable[[], Any]) -> asyncio.Future:
        """``job``'s result, as a future of the running loop."""
        done: concurrent.futures.Future = concurrent.futures.Future()
        if self._thread is None:  # started before the job is queued: a thread that cannot start leaves no job behind
            thread = threading.Thread(target=self._serve, name="hub-audit-turn", daemon=True)
            thread.start()  # RuntimeError when the host allows no more threads
            self._thread = thread
        self._jobs.put((job, done))
        return asyncio.wrap_future(done)

    def stop(self, last: Callable[[], None]) -> None:
        """Run ``last`` after the jobs queued so far (at once when there is no thread), then end the thread."""
        if self._thread is None:
            last()
            return
        self._jobs.put((last, concurrent.futures.Future()))
        self._jobs.put(None)

    def _serve(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, done = item
            if not done.set_running_or_notify_cancel():
                continue
            try:
                result = job()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiter
                done.set_exception(exc)
            else:
                done.set_result(result)


def _count(fd: int) -> int:
    """The turn file's count of turns (8 bytes; 0 in a new, empty file)."""
    return int.from_bytes(os.pread(fd, 8, 0).ljust(8, b"\0"), "little")


def create_for_server(data_dir: Path, port: int) -> Path:
    """The turn file of a ``hub serve`` run (in the run folder, ``hub.run_dir``, like the shared rate table); SetupError
    (said, not a traceback) when it cannot be made there."""
    path = run_dir(data_dir) / f"audit-turn-{port}.lock"
    for each in (path, Path(f"{path}.waiting")):
        try:
            os.close(open_run_file(each, os.O_RDWR | os.O_CREAT, "the audit turn file"))
        except SetupError as exc:
            raise SetupError(f"{exc} (or HUB_AUDIT_TURN=false)") from None
    return path
