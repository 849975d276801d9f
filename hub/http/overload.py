"""Overload protection: a bounded queue in front of the database pools (pure ASGI).

At most ``max_in_flight`` requests per process are served at once; the next ``max_queued`` wait in FIFO
order for a slot, each for at most ``queue_timeout`` seconds. A request that finds the queue full, or that
waits too long, gets HTTP 503 with ``Retry-After`` and a coded body
(``{"code": "SERVICE_UNAVAILABLE", "reason": "overloaded", "limit": "maxQueued" | "queueTimeout"}``) at
once, instead of piling up on the pools (whose acquire timeout is the second bound, see ``hub.db.pools``).
Health, readiness, metrics and static files are never queued: operators must see an overloaded hub.
``max_in_flight`` 0 turns the limit off.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from hub.api.over_http import RETRY_AFTER_SECONDS, error_body

EXEMPT_PREFIXES = ("/healthz", "/readyz", "/metrics", "/static/")


@dataclass
class Admission:
    """The admission state of one process (``app.state.admission``): slots, the queue and counters."""

    max_in_flight: int
    max_queued: int
    queue_timeout: float
    in_flight: int = 0
    waiters: collections.deque = field(default_factory=collections.deque)
    admitted: int = 0
    queued: int = 0  # admitted after waiting
    refused: dict[str, int] = field(default_factory=lambda: {"maxQueued": 0, "queueTimeout": 0})
    peak_waiting: int = 0

    async def acquire(self) -> str | None:
        """Take a slot, waiting in the queue if needed; None when admitted, else the limit that refused."""
        if self.in_flight < self.max_in_flight and not self.waiters:
            self.in_flight += 1
            self.admitted += 1
            return None
        if len(self.waiters) >= self.max_queued:
            self.refused["maxQueued"] += 1
            return "maxQueued"
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        self.peak_waiting = max(self.peak_waiting, len(self.waiters))
        try:
            await asyncio.wait_for(waiter, self.queue_timeout)
        except asyncio.TimeoutError:
            self._forget(waiter)
            self.refused["queueTimeout"] += 1
            return "queueTimeout"
        except BaseException:  # cancelled (client gone): give back a slot handed over meanwhile
            if waiter.done() and not waiter.cancelled():
                self.release()
            self._forget(waiter)
            raise
        self.admitted += 1
        self.queued += 1
        return None  # the slot was handed over by release(): in_flight already counts it

    def release(self) -> None:
        """Give the slot to the longest-waiting request, or free it."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_flight -= 1

    def _forget(self, waiter: asyncio.Future) -> None:
        try:
            self.waiters.remove(waiter)
        except ValueError:
            pass


class OverloadMiddleware:
    """503 + Retry-After beyond ``max_in_flight`` served and ``max_queued`` waiting requests (see module doc)."""

    def __init__(self, app: ASGIApp, admission: Admission):
        self.app = app
        self.admission = admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        admission = self.admission
        if scope["type"] != "http" or admission.max_in_flight <= 0 or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        refused = await admission.acquire()
        if refused is not None:
            await _refuse(send, refused, admission)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            admission.release()


async def _refuse(send: Send, limit: str, admission: Admission) -> None:
    reason = (f"the hub is overloaded: {admission.max_in_flight} requests in progress and "
              f"{len(admission.waiters)} waiting; retry after {RETRY_AFTER_SECONDS} s")
    body = error_body(reason, "SERVICE_UNAVAILABLE", reason="overloaded", limit=limit)
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode())]})
    await send({"type": "http.response.body", "body": body})
