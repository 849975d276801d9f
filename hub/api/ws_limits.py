"""What one consumer may hold open on websockets: a cap on its authenticated sockets, for the host.

An open socket costs nothing in rate-limit tokens once its operations have started, yet each holds a file
descriptor, memory, a re-check task, and up to ``MAX_OPERATIONS_PER_SOCKET`` operations whose subscriptions
re-check their access. ``SocketSlots`` bounds the authenticated sockets of each consumer
(``HUB_WS_MAX_SOCKETS_PER_CONSUMER``, 0: no cap): ``take`` is called at ``connection_init`` once the token is
known (``HubGraphQL.on_ws_connect``) and refuses the socket over the cap (``TooManySockets``, which
``hub.api.ws_handler`` turns into close code ``CLOSE_CODE``, a log line and ``hub_websockets_refused_total``);
the handler's ``shutdown`` gives the slot back however the socket ends (the client closes it or vanishes, the
hub closes it on a revoked token, the worker stops). ``release`` is idempotent.

**For the host.** Each process counts its own sockets in memory. With ``hub serve --workers N`` the workers also
share a table (``hub.http.socket_table``, given as ``table``): each publishes its counts there, and a socket is
admitted when the consumer's sockets in this worker and in the other live workers are fewer than the cap, checked
and counted under one host-wide lock. A worker that dies, however it dies, stops counting in the table (its region
is owned through a record lock the kernel drops), so its sockets, gone with it, leave no slot taken. Without the
table (one worker, or a table that cannot be used) the cap holds per process. Several replicas each count their
own.
"""

from __future__ import annotations

import collections
import contextlib
from typing import Any

CLOSE_CODE = 4429  # graphql-transport-ws's "too many" code; graphql-ws clients do not retry it by themselves
MAX_OPERATIONS_PER_SOCKET = 100  # operations in progress on one socket (strawberry's limit, set explicitly)


class TooManySockets(Exception):
    """The consumer already holds ``cap`` authenticated sockets (on the host; in this process without a table)."""

    def __init__(self, consumer_id: Any, cap: int):
        super().__init__(consumer_id, cap)
        self.consumer_id = consumer_id
        self.cap = cap

    @property
    def reason(self) -> str:
        """The close reason (at most 123 bytes in a close frame)."""
        return f"Too many connections: at most {self.cap} open sockets per consumer"


class SocketSlot:
    """One socket's place under its consumer's cap; ``release`` gives it back (once)."""

    __slots__ = ("_owner", "consumer_id")

    def __init__(self, owner: "SocketSlots", consumer_id: Any):
        self._owner: SocketSlots | None = owner
        self.consumer_id = consumer_id

    def release(self) -> None:
        owner, self._owner = self._owner, None
        if owner is not None:
            owner._give_back(self.consumer_id)


class SocketSlots:
    """The authenticated sockets each consumer holds open, at most ``cap`` each (0: no cap): counted in this
    process, and with ``table`` in the other workers of the host too.

    ``metrics`` (``hub.telemetry.metrics.HubMetrics``, optional) is told of every socket opened, closed and
    refused. Used from the process's event loop only (the table's lock orders the workers)."""

    def __init__(self, cap: int, metrics: Any = None, table: Any = None):
        self.cap = cap
        self.metrics = metrics
        self.table = table if cap > 0 else None  # hub.http.socket_table.SocketTable: the other workers' counts
        self._held: collections.Counter[Any] = collections.Counter()

    def take(self, consumer_id: Any) -> SocketSlot:
        """A slot for one more socket of ``consumer_id``; ``TooManySockets`` when it holds ``cap`` already
        (in this process, and in the other workers of the host when there is a table)."""
        with self.table.locked() if self.table is not None else contextlib.nullcontext():
            held = self._held[consumer_id]
            if self.table is not None:
                held += self.table.elsewhere(consumer_id)
            if self.cap > 0 and held >= self.cap:
                if self.metrics is not None:
                    self.metrics.websocket_refused("too_many_sockets")
                raise TooManySockets(consumer_id, self.cap)
            self._count(consumer_id, +1)
        if self.metrics is not None:
            self.metrics.websocket_opened()
        return SocketSlot(self, consumer_id)

    def _give_back(self, consumer_id: Any) -> None:
        with self.table.locked() if self.table is not None else contextlib.nullcontext():
            self._count(consumer_id, -1)
        if self.metrics is not None:
            self.metrics.websocket_closed()

    def _count(self, consumer_id: Any, change: int) -> None:
        self._held[consumer_id] += change
        count = self._held[consumer_id]
        if count <= 0:
            del self._held[consumer_id]
        if self.table is not None:
            self.table.publish(consumer_id, count)

    def held(self, consumer_id: Any) -> int:
        """Sockets ``consumer_id`` holds open in this process now."""
        return self._held.get(consumer_id, 0)

    def __len__(self) -> int:
        """Authenticated sockets open in this process now, all consumers."""
        return sum(self._held.values())
