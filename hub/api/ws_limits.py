"""What one consumer may hold open on websockets: a cap on its authenticated sockets, per worker process.

An open socket costs nothing in rate-limit tokens once its operations have started, yet each holds a file
descriptor, memory, a re-check task, and up to ``MAX_OPERATIONS_PER_SOCKET`` operations whose subscriptions
re-check their access. ``SocketSlots`` bounds the authenticated sockets of each consumer
(``HUB_WS_MAX_SOCKETS_PER_CONSUMER``, 0: no cap): ``take`` is called at ``connection_init`` once the token is
known (``HubGraphQL.on_ws_connect``) and refuses the socket over the cap (``TooManySockets``, which
``hub.api.ws_handler`` turns into close code ``CLOSE_CODE``, a log line and ``hub_websockets_refused_total``);
the handler's ``shutdown`` gives the slot back however the socket ends (the client closes it or vanishes, the
hub closes it on a revoked token, the worker stops). ``release`` is idempotent.

**Per worker process, not per host.** Each worker of ``hub serve --workers N`` counts its own sockets, so a
consumer may hold up to N × the cap on a host (one socket is never refused while the consumer holds fewer than
the cap in all). What the cap protects is per process: a worker's memory, its file descriptors (``ulimit -n``
is per process), its event loop and its database pools (``HUB_POOL_MAX_SIZE`` per pool per worker), so a per
worker count bounds exactly what one consumer can take from each worker. A count shared by the workers, like the
rate limiter's table (``hub.http.rate_table``), would have to survive a worker killed without running its
clean-up: a rate bucket refills by itself, a count of open sockets never decays, so the table would also need
each worker's liveness to forget a dead worker's sockets. Counting in the process that holds the sockets makes
a leaked slot impossible: the count dies with the sockets it counts.

Hand-written: a counter per key in one event loop; no library bounds concurrent websockets per key.
"""

from __future__ import annotations

import collections
from typing import Any

CLOSE_CODE = 4429  # graphql-transport-ws's "too many" code; graphql-ws clients do not retry it by themselves
MAX_OPERATIONS_PER_SOCKET = 100  # operations in progress on one socket (strawberry's limit, set explicitly)


class TooManySockets(Exception):
    """The consumer already holds ``cap`` authenticated sockets in this worker."""

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
    """The authenticated sockets each consumer holds open in this process, at most ``cap`` each (0: no cap).

    ``metrics`` (``hub.telemetry.metrics.HubMetrics``, optional) is told of every socket opened, closed and
    refused. Used from the process's event loop only (no lock)."""

    def __init__(self, cap: int, metrics: Any = None):
        self.cap = cap
        self.metrics = metrics
        self._held: collections.Counter[Any] = collections.Counter()

    def take(self, consumer_id: Any) -> SocketSlot:
        """A slot for one more socket of ``consumer_id``; ``TooManySockets`` when it holds ``cap`` already."""
        if self.cap > 0 and self._held[consumer_id] >= self.cap:
            if self.metrics is not None:
                self.metrics.websocket_refused("too_many_sockets")
            raise TooManySockets(consumer_id, self.cap)
        self._held[consumer_id] += 1
        if self.metrics is not None:
            self.metrics.websocket_opened()
        return SocketSlot(self, consumer_id)

    def _give_back(self, consumer_id: Any) -> None:
        self._held[consumer_id] -= 1
        if self._held[consumer_id] <= 0:
            del self._held[consumer_id]
        if self.metrics is not None:
            self.metrics.websocket_closed()

    def held(self, consumer_id: Any) -> int:
        """Sockets ``consumer_id`` holds open now."""
        return self._held.get(consumer_id, 0)

    def __len__(self) -> int:
        """Authenticated sockets open now, all consumers."""
        return sum(self._held.values())
