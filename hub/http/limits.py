"""Limits of an HTTP request (pure-ASGI middleware, see ``hub.app``); the limits of a GraphQL document are
``hub.api.document_limits``.

* ``BodySizeLimitMiddleware``: 413 when Content-Length exceeds ``max_body_bytes`` or a streamed
  (chunked) body grows past it; the body is never buffered beyond the limit.
* ``RateLimitMiddleware``: a token bucket per authenticated consumer (``scope["hub.consumer"]``,
  set by the authentication middleware that runs before it); 429 with ``Retry-After``. The buckets
  (``TokenBuckets``, ``app.state.rate_limiter``) are shared by the worker processes of one host
  (``hub.http.rate_table``); each GraphQL operation on a websocket takes a token from the same buckets
  (``hub.api.ws_auth.operation_access``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.document_limits import limit_extensions
from hub.http.rate_table import DEFAULT_SLOTS, RateTable


def _error_body(message: str, limit: str, value: Any) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": limit_extensions(limit, value)}]})


async def _send_error(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    """HTTP 413 (LIMIT_EXCEEDED maxBodyBytes) for a body larger than ``max_bytes``.

    A declared Content-Length over the limit is refused before the app runs; one within it is the body's length
    (the server reads no more); a body without one (chunked) is counted while the app reads it and refused as
    soon as it passes the limit.
    ``path_limits`` gives paths under a prefix their own limit instead (``/ingest``: bulk bodies that the
    endpoint streams, never holding them in memory).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, path_limits: Mapping[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = dict(path_limits or {})

    def _limit(self, path: str) -> int:
        for prefix, limit in self.path_limits.items():
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    def _too_large(self, limit: int | None = None) -> bytes:
        limit = self.max_bytes if limit is None else limit
        return _error_body(f"request body larger than {limit} bytes", "maxBodyBytes", limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit(scope["path"])
        declared: int | None = None
        lengths = 0
        encoded = False  # a Transfer-Encoding takes precedence over a Content-Length
        for name, value in scope["headers"]:
            if name == b"content-length":
                lengths += 1
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                if declared is not None and declared > max_bytes:
                    await _send_error(send, 413, self._too_large(max_bytes), [(b"connection", b"close")])
                    return
            elif name == b"transfer-encoding":
                encoded = True
        if lengths == 1 and not encoded and declared is not None and declared >= 0:
            # The server frames the body by its Content-Length (HTTP/1.1: the bytes after it are the next request),
            # so a body declared within the limit stays within it: nothing to count (two wrappers less per request).
            await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:  # the app answered before reading its body; nothing more can be sent
                return
            await _send_error(send, 413, self._too_large(max_bytes), [(b"connection", b"close")])

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A socket message is a request too: one larger than the body limit closes the socket with 1009 (message
        too big) before the app reads it; the app is told the client went away."""
        max_bytes = self._limit(scope["path"])
        closed = False

        async def limited_receive() -> Message:
            nonlocal closed
            message = await receive()
            if message["type"] == "websocket.receive":
                data = message.get("bytes") or message.get("text") or b""
                size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
                if size > max_bytes:
                    closed = True
                    await send({"type": "websocket.close", "code": 1009,
                                "reason": f"message larger than {max_bytes} bytes"})
                    return {"type": "websocket.disconnect", "code": 1009}
            return message

        async def guarded_send(message: Message) -> None:
            if not closed:  # nothing after our close
                await send(message)

        await self.app(scope, limited_receive, guarded_send)


class TokenBuckets:
    """The per-consumer rate limiter: a token bucket per key, ``burst`` capacity, ``rate`` tokens per second.

    The one entry point for every kind of request (HTTP here, websocket operations too): ``take(key)``.
    The buckets live in a ``hub.http.rate_table.RateTable``: by default one private to this process
    (``max_keys`` slots); ``table`` the table shared by the workers of ``hub serve`` (``for_settings``),
    so that the rate holds for the host whatever the number of workers. ``rate`` 0: no limit.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = DEFAULT_SLOTS, table: RateTable | None = None):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.table = table if table is not None else RateTable.memory(max_keys)

    @classmethod
    def for_settings(cls, settings: Any) -> "TokenBuckets":
        """The limiter of an app: on the table ``hub serve`` shares between its workers
        (``settings.rate_limit_table``), else on one of its own."""
        path = getattr(settings, "rate_limit_table", None)
        table = RateTable.open(path) if path is not None and settings.rate_limit_per_second > 0 else None
        return cls(settings.rate_limit_per_second, settings.rate_limit_burst, table=table)

    def take(self, key: Any) -> float:
        """Take one token: 0.0 when allowed, else the seconds until a token is available."""
        if self.rate <= 0:
            return 0.0
        return self.table.take(key, self.rate, self.burst, self.clock)

    def refusal(self, wait: float) -> tuple[str, dict[str, Any], int]:
        """What a refused request is told: message, error extensions and Retry-After seconds."""
        retry_after = max(1, math.ceil(wait))
        message = (f"rate limit exceeded: at most {self.rate:g} requests per second "
                   f"(bursts of {self.burst}); retry after {retry_after} s")
        return message, limit_extensions("rateLimit", self.rate), retry_after

    def __len__(self) -> int:
        return self.table.used()


# Paths never rate limited (no consumer is authenticated there anyway).
_UNLIMITED_PREFIXES = ("/healthz", "/readyz", "/static/")


class RateLimitMiddleware:
    """HTTP 429 (LIMIT_EXCEEDED rateLimit) when a consumer exceeds its token bucket.

    Must run after authentication: it limits requests that carry ``scope["hub.consumer"]`` and lets
    the others through (refusing them is authentication's business). ``rate`` 0 disables it.
    ``limiter``: the app's ``TokenBuckets`` (``app.state.rate_limiter``); by default one of its own.
    """

    def __init__(self, app: ASGIApp, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 limiter: TokenBuckets | None = None):
        self.app = app
        self.rate = rate
        self.buckets = limiter if limiter is not None else TokenBuckets(rate, burst, clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        consumer = scope.get("hub.consumer") if scope["type"] == "http" else None
        if consumer is None or self.rate <= 0 or scope["path"].startswith(_UNLIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(getattr(consumer, "id", consumer))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        message, extensions, retry_after = self.buckets.refusal(wait)
        body = orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})
        await _send_error(send, 429, body, [(b"retry-after", str(retry_after).encode())])
