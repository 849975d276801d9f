"""Whose turn it is to append to the audit chain, among the worker processes of one ``hub serve --workers N``.

Every batch of the group-commit writer (``hub.governance.audit_writer``) holds the chain's advisory lock in the
database until it commits. With several workers their batches met there: one waited inside PostgreSQL, holding a
connection and counting as database time, while the other committed, and each batch stayed small because it
was sent the moment the writer was idle. With a turn, the workers of a host wait for each other here instead: a
writer takes the turn, then takes every entry queued by then as its batch, and gives the turn back when that
batch has committed. While one worker's batch commits, the others' entries gather into their next batch; no
batch waits for the lock in the database (the lock stays, for writers outside this host's workers).

The turn is an exclusive ``flock`` on a file of the run (``TURN_ENV``; ``hub serve`` creates it in the data
folder and its workers inherit the path): the kernel gives the turn back when a worker dies holding it. A free
turn is taken without blocking; a taken one is waited for in a thread of the writer's own (``flock`` has no
asynchronous form), and a turn granted after its waiter was cancelled or gave up is given back at once.
A turn is never a reason to fail or stall an operation: see ``HostTurn.held``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, AsyncIterator

TURN_ENV = "HUB_AUDIT_TURN_FILE"
WAIT_SECONDS = 5.0  # longest wait for the turn; then a batch goes without it (``HostTurn.held``)

log = logging.getLogger("hub.audit")


class HostTurn:
    """The workers' turn at the chain: an exclusive ``flock`` on ``path``, handed on fairly (see ``held``)."""

    def __init__(self, path: str | Path, wait_seconds: float = WAIT_SECONDS):
        self.path = str(path)
        self.wait_seconds = wait_seconds
        self._turn = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        # Waiters hold a shared lock on this second file while they wait for the turn.
        self._waiting = os.open(self.path + ".waiting", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-audit-turn")
        self.waited = 0  # turns this process waited for (another worker held the turn, or was waiting for it)
        self.given_up = 0  # waits that ran out (the batch went without the turn)
        self._given_up: asyncio.Future | None = None  # the last wait given up, while its thread still waits

    @classmethod
    def from_env(cls, environ: Any = os.environ) -> "HostTurn | None":
        path = environ.get(TURN_ENV)
        return cls(path) if path else None

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Hold the turn for the block.

        ``flock`` wakes its waiters when the turn is given back but does not hand it over: the worker that gave it
        back, still running, would take it again at once (its next batch is ready under load) and starve the
        others (measured: p99 87-164 ms). So the turn is taken at once only when it is free and nobody waits for
        it; otherwise this worker queues as a waiter too, and the one already woken gets the turn first.

        The turn only spares the database the wait: the chain's lock still orders the batches. So a turn not had
        within ``wait_seconds`` (a holder stuck, another process holding the file) is not waited for any longer:
        the block runs without it, and the batch waits for the chain's lock as without a turn."""
        if self._given_up is not None and not self._given_up.done():
            held = False  # a wait given up has not ended yet: no turn until it does (no 5 s per batch meanwhile)
        else:
            held = self._take_at_once() or await self._wait()
        try:
            yield
        finally:
            if held:
                fcntl.flock(self._turn, fcntl.LOCK_UN)

    def _take_at_once(self) -> bool:
        if not self._nobody_waits():
            return False
        try:
            fcntl.flock(self._turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _nobody_waits(self) -> bool:
        try:
            fcntl.flock(self._waiting, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(self._waiting, fcntl.LOCK_UN)
        return True

    def _queue_for_turn(self) -> None:  # in the waiter thread
        fcntl.flock(self._waiting, fcntl.LOCK_SH)
        try:
            fcntl.flock(self._turn, fcntl.LOCK_EX)
        finally:
            fcntl.flock(self._waiting, fcntl.LOCK_UN)

    async def _wait(self) -> bool:
        self.waited += 1
        granted = asyncio.get_running_loop().run_in_executor(self._waiter, self._queue_for_turn)
        try:
            await asyncio.wait_for(asyncio.shield(granted), self.wait_seconds)
        except asyncio.TimeoutError:
            self.given_up += 1
            self._given_up = granted
            granted.add_done_callback(self._give_back)  # granted later: nobody holds it, give it back
            log.warning("the audit turn (%s) was not had within %.0f s: this batch waits for the chain's lock in "
                        "the database instead", self.path, self.wait_seconds)
            return False
        except asyncio.CancelledError:
            granted.add_done_callback(self._give_back)
            raise
        return True

    def _give_back(self, granted: asyncio.Future) -> None:
        if not granted.cancelled() and granted.exception() is None:
            fcntl.flock(self._turn, fcntl.LOCK_UN)

    def close(self) -> None:
        self._waiter.shutdown(wait=False)
        os.close(self._turn)
        os.close(self._waiting)


def create_for_server(data_dir: Path, port: int) -> Path:
    """The turn file of a ``hub serve`` run (in the data folder, like the shared rate table)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"audit-turn-{port}.lock"
    for each in (path, Path(f"{path}.waiting")):
        each.touch(mode=0o600)
    return path
