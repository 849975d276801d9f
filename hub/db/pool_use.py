"""How the hub uses one asyncpg pool (``PoolGauge``): its name, the statements waiting for a connection, and the
connections kept between statements.

Kept connections: asyncpg's ``Pool.acquire``/``Pool.release`` cost, for every statement, a connection proxy, a
future, an inactivity timer armed and cancelled, and a shielded task for the release (measured in process: about a
tenth of a single lookup's CPU). A statement that ends normally leaves its connection in ``kept`` for the next
statement on the same pool instead (a list pop and append). asyncpg's release still handles everything else: a
statement that failed or was cancelled (the release waits out the cancellation, rolls an open transaction back or
drops a broken connection), a connection found closed, and every connection beyond ``keep``. At most half of the
pool is kept, and only for a moment: every ``KEEP_SECONDS`` the kept connections go back to the pool
(``give_back``), so that the pool's other users (transactions, the sync feed, ingest, readiness: they acquire from
asyncpg's pool and cannot take a kept connection) wait at most that long for one, and asyncpg's release rules (its
``max_queries``, ``expire_connections``, the inactivity timer) apply again. ``close`` gives them back for good before
closing the pool.

Hand-written: asyncpg has no cheaper way to run one statement on a pool connection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg

log = logging.getLogger("hub.pools")

# Kept connections go back to the pool this long after the first was kept (one timer per period, not per statement).
KEEP_SECONDS = 0.25


class PoolGauge:
    """One pool as the hub uses it (``hub.db.pools.Department`` runs every statement through ``run``; the metrics
    read ``waiting`` and ``idle``)."""

    __slots__ = ("name", "pool", "waiting", "kept", "keep", "_timer", "_giving_back")

    def __init__(self, name: str, pool: asyncpg.Pool, keep: int | None = None):
        self.name = name
        self.pool = pool
        self.waiting = 0  # statements waiting for a connection of the pool
        self.kept: list[Any] = []  # connections kept between statements (acquired from the pool, idle)
        self.keep = pool.get_max_size() // 2 if keep is None else keep
        self._timer: asyncio.TimerHandle | None = None  # gives the kept connections back (KEEP_SECONDS)
        self._giving_back: asyncio.Task | None = None  # the periodic give-back (held: the loop keeps tasks weakly)

    @property
    def idle(self) -> int:
        """Connections not running a statement: the pool's idle ones and the kept ones still open."""
        return self.pool.get_idle_size() + sum(1 for conn in self.kept if _open(conn))

    async def run(self, method: str, sql: str, args: tuple[Any, ...], acquire_timeout: float | None) -> Any:
        """``conn.<method>(sql, *args)`` on a kept connection, or on one acquired from the pool (waiting at most
        ``acquire_timeout`` seconds for it)."""
        conn = None
        kept = self.kept
        while kept:
            candidate = kept.pop()
            if _open(candidate):
                conn = candidate
                break
            await self.pool.release(candidate)  # closed (the server went away): its holder reconnects when reused
        if conn is None:
            self.waiting += 1
            try:
                # An idle connection is handed over at once: skip the timeout scope (an asyncio timer per
                # statement). The pool's connect timeout still bounds a reconnect.
                conn = await self.pool.acquire(timeout=None if self.pool.get_idle_size() else acquire_timeout)
            finally:
                self.waiting -= 1
        try:
            result = await getattr(conn, method)(sql, *args)
        except BaseException:
            await self.pool.release(conn)
            raise
        if len(kept) < self.keep and not conn.is_in_transaction():
            kept.append(conn)
            if self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(KEEP_SECONDS, self._period_ended)
        else:
            await self.pool.release(conn)
        return result

    def _period_ended(self) -> None:
        self._timer = None
        self._giving_back = asyncio.ensure_future(self.give_back())

    async def give_back(self, final: bool = False) -> None:
        """Return every kept connection to the pool; ``final``: and keep none from now on (the pool is closing, and
        ``Pool.close`` waits for every connection to come back)."""
        if final:
            self.keep = 0
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        kept = list(self.kept)
        self.kept.clear()  # in place: a statement running now appends to this list
        for conn in kept:
            try:
                await self.pool.release(conn)
            except asyncpg.InterfaceError:  # closed, and asyncpg has already given it back
                pass
            except Exception as exc:  # noqa: BLE001 - e.g. the close of a connection at max_queries failed
                # Closed at once instead: asyncpg then frees its place in the pool. Without this the rest of the
                # batch stayed checked out for good (the periodic give-back runs as a task nobody awaits) and
                # Pool.close waited for them forever.
                log.warning("a kept connection of pool %s could not go back to the pool (%r): closed", self.name, exc)
                conn.terminate()

    async def close(self) -> None:
        await self.give_back(final=True)
        await self.pool.close()


def _open(conn: Any) -> bool:
    """Is a kept connection still open? Not when it is closed, nor when asyncpg has already given it back to the
    pool (a connection the server closed: its proxy is detached, and releasing it again does nothing)."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False
