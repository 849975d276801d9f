"""Announcing new feed cursors: one LISTEN connection per department database per process, fanned out.

The capture triggers ``NOTIFY hub_sync, '<dataset>'`` (delivered at commit). A notification alone does not
mean the feed can hand the change out yet — an older transaction may still be open — so on each
notification the notifier asks the dataset's pool for the feed's *head* (``hub.sync.feed.head``: the newest
change it can hand out now), announces it to the dataset's subscribers if it moved, and looks again shortly
while newer changes are still held back. Subscribers get the newest head only (a queue of one, replaced),
so a slow subscriber never makes the notifier wait. After a lost connection is re-established every
subscribed dataset is checked again (notifications may have been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any, AsyncIterator

import asyncpg

from hub.departments import DATA
from hub.sync.cursor import Cursor
from hub.sync.feed import head

if TYPE_CHECKING:
    from hub.db.pools import Databases

log = logging.getLogger("hub.sync.notify")

CHANNEL = "hub_sync"


class ChangeNotifier:
    def __init__(self, db: "Databases", recheck: float = 0.1, max_recheck: float = 2.0):
        self.db = db
        self.recheck, self.max_recheck = recheck, max_recheck
        self._subscribers: dict[str, set[asyncio.Queue[Cursor]]] = {}
        self._announced: dict[str, tuple[int, int]] = {}
        self._checking: set[str] = set()
        self._again: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self._listeners: list[asyncio.Task] = []
        self.connected: dict[str, bool] = {}

    async def start(self) -> None:
        """Start one listener task per distinct department database (connecting in the background)."""
        for url in sorted({self.db.url_of(d) for d in DATA}):
            self.connected[url] = False
            self._listeners.append(asyncio.ensure_future(self._listen(url)))

    async def stop(self) -> None:
        for task in [*self._listeners, *self._tasks]:
            task.cancel()
        for task in [*self._listeners, *self._tasks]:
            with contextlib.suppress(BaseException):
                await task
        self._listeners.clear()

    @contextlib.asynccontextmanager
    async def subscribe(self, dataset: str) -> AsyncIterator["asyncio.Queue[Cursor]"]:
        """A queue receiving the feed's new head cursors of ``dataset`` while the block runs."""
        queue: asyncio.Queue[Cursor] = asyncio.Queue(maxsize=1)
        self._subscribers.setdefault(dataset, set()).add(queue)
        try:
            yield queue
        finally:
            subscribers = self._subscribers.get(dataset)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[dataset]

    # -- listening ----------------------------------------------------------------------------------------

    async def _listen(self, url: str) -> None:
        delay = 0.5
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(url, server_settings={"application_name": "talent-data-hub-listener"})
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn: lost.set())
                await conn.add_listener(CHANNEL, self._on_notification)
                self.connected[url] = True
                delay = 0.5
                for dataset in list(self._subscribers):  # catch up on what may have been missed
                    self._schedule(dataset)
                await lost.wait()
                log.warning("sync notifications: the listener connection was lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retry with backoff
                log.warning("sync notifications: cannot listen (%s); retrying in %.1f s", exc, delay)
            finally:
                self.connected[url] = False
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=2))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    def _on_notification(self, _conn: Any, _pid: int, _channel: str, dataset: str) -> None:
        if dataset in self._subscribers:
            self._schedule(dataset)

    def _schedule(self, dataset: str) -> None:
        if dataset in self._checking:
            self._again.add(dataset)  # the running check looks once more
            return
        self._checking.add(dataset)
        task = asyncio.ensure_future(self._check(dataset))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check(self, dataset: str) -> None:
        pool = self.db.departments[dataset.split(".")[0]].pool
        delay = self.recheck
        try:
            while True:
                self._again.discard(dataset)
                try:
                    cursor, pending = await head(pool, self.db.registry, dataset)
                except Exception:  # noqa: BLE001 - the next notification (or reconnect) tries again
                    log.warning("sync notifications: reading the head of %s failed", dataset, exc_info=True)
                    return
                if cursor is not None and self._announced.get(dataset) != cursor.position:
                    self._announced[dataset] = cursor.position
                    self._publish(dataset, cursor)
                if not pending and dataset not in self._again:
                    return
                if pending:  # held back by an open transaction: look again shortly
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.max_recheck)
        finally:
            self._checking.discard(dataset)

    def _publish(self, dataset: str, cursor: Cursor) -> None:
        for queue in self._subscribers.get(dataset, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(cursor)
