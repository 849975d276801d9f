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
asynchronous form), and a turn granted after its waiter was cancelled is given back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, AsyncIterator

TURN_ENV = "HUB_AUDIT_TURN_FILE"


class HostTurn:
    """The workers' turn at the chain: an exclusive ``flock`` on ``path``, handed on fairly (see ``held``)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._turn = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        # Waiters hold a shared lock on this second file while they wait for the turn.
        self._waiting = os.open(self.path + ".waiting", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-audit-turn")
        self.waited = 0  # turns this process waited for (another worker held the turn, or was waiting for it)

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
        it; otherwise this worker queues as a waiter too, and the one already woken gets the turn first."""
        if self._nobody_waits():
            try:
                fcntl.flock(self._turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                await self._wait()
        else:
            await self._wait()
        try:
            yield
        finally:
            fcntl.flock(self._turn, fcntl.LOCK_UN)

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

    async def _wait(self) -> None:
        self.waited += 1
        granted = asyncio.get_running_loop().run_in_executor(self._waiter, self._queue_for_turn)
        try:
            await asyncio.shield(granted)
        except asyncio.CancelledError:
            granted.add_done_callback(self._give_back)  # granted later: nobody holds it, give it back
            raise

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
