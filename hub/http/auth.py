"""Bearer-token authentication as a pure-ASGI middleware.

Data paths (``/graphql``, ``/sync``, ``/ingest``, ``/reports``) need ``Authorization: Bearer <token>``;
the consumer found for the token's SHA-256 goes into ``scope["hub.consumer"]``. A missing, unknown or
revoked token gets HTTP 401 with ``extensions.code`` UNAUTHENTICATED; so does a malformed ``Authorization``
header (the token without the ``Bearer`` scheme, another scheme), with a message saying what is wrong. The GraphiQL page itself
(``GET /graphql`` from a browser, without a query) is served without a token: it holds no data, and the
user pastes the token into its header editor. Published annual reports (``GET /reports/{year}``) are public
too; their drafts need a token, and a withdrawn version's figures an admin's (``resolvers.analytics.report.routes``);
a token that is sent must be valid. Lookups are
cached per process for ``policy_cache_seconds``, so a revocation made elsewhere takes effect within that time
(``lookup(..., fresh=True)`` asks the database: an admin's read of a withdrawn report version).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.errors import HubError, from_db_error
from hub.governance.consumers import Consumer, hash_token

PROTECTED_PREFIXES = ("/graphql", "/sync", "/ingest", "/reports")
_CACHE_LIMIT = 10_000


def unauthenticated_body(message: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]})


def parse_authorization(value: str) -> tuple[str | None, str | None]:
    """The bearer token of an ``Authorization`` header value, or None with what is wrong with the header."""
    scheme, _, credentials = value.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials, None
    how = "send Authorization: Bearer <token>"
    if not scheme:
        return None, None  # an empty header counts as none
    if scheme.lower() == "bearer":
        return None, f"the Authorization header has the Bearer scheme but no token: {how}"
    if not credentials:
        return None, f"the Authorization header has no scheme (the token alone?): {how}"
    return None, f"unsupported authorization scheme {scheme[:20]!r}: {how}"


class ConsumerCache:
    def __init__(self, ttl: float):
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Consumer | None]] = {}

    async def lookup(self, db: Any, token_hash: str, *, fresh: bool = False) -> Consumer | None:
        """The consumer holding the token (None: unknown or revoked), from the cache unless ``fresh``: a read that
        must not outlive a revocation by the cache's time (a withdrawn report version's figures) asks the database."""
        now = time.monotonic()
        hit = self._entries.get(token_hash)
        if not fresh and hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        row = await db.hub.fetchrow("hub/consumer_by_token_hash", token_hash)
        consumer = Consumer(row["id"], row["department"], row["name"], row["role"]) if row else None
        if self.ttl > 0:
            if len(self._entries) >= _CACHE_LIMIT:
                self._entries.clear()
            self._entries[token_hash] = (now, consumer)
        return consumer

    def clear(self) -> None:
        self._entries.clear()


def _is_graphiql_page(scope: Scope) -> bool:
    if scope["method"] != "GET" or scope["path"] != "/graphql" or scope.get("query_string"):
        return False
    for name, value in scope["headers"]:
        if name == b"accept":
            return b"text/html" in value
    return False


def _is_report_read(scope: Scope) -> bool:
    """GET of an annual report page (``/reports/{year}[.csv|.json]``): published versions are public."""
    return scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and scope["path"].startswith("/reports/")


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith(PROTECTED_PREFIXES):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and _is_graphiql_page(scope):
            await self.app(scope, receive, send)
            return
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                token, problem = parse_authorization(value.decode("latin-1"))
                if problem is not None and scope["type"] == "http":
                    await self._reject(scope, send, problem)
                    return
                break
        if token is None and scope["type"] == "websocket":
            scope["hub.consumer"] = None  # graphql-transport-ws authenticates in connection_init
            await self.app(scope, receive, send)
            return
        if token is None and _is_report_read(scope):
            scope["hub.consumer"] = None  # published reports are public; resolvers.analytics.report.routes asks drafts for a token
            await self.app(scope, receive, send)
            return
        if token is None:
            await self._reject(scope, send, "missing bearer token: send Authorization: Bearer <token>")
            return
        app_state = scope["app"].state
        token_hash = hash_token(token)
        try:
            consumer = await app_state.consumers.lookup(app_state.db, token_hash)
        except Exception as exc:  # noqa: BLE001 - mapped below

            # The database is down or too slow (hub.db.pools already maps its errors): 503, retryable.
            mapped = exc if isinstance(exc, HubError) else from_db_error(exc)
            if mapped is None:
                raise
            await _send_json(scope, send, 503, {"errors": [{"message": mapped.message,
                                                      "extensions": {"code": mapped.code, **mapped.extensions}}]},
                             [(b"retry-after", b"1")])
            return
        if consumer is None:
            await self._reject(scope, send, "unknown or revoked token")
            return
        scope["hub.consumer"] = consumer
        scope["hub.token_hash"] = token_hash  # a websocket looks its consumer up again per operation (hub.api.ws_auth)
        await self.app(scope, receive, send)

    async def _reject(self, scope: Scope, send: Send, message: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4401, "reason": "Unauthorized"})
            return
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"application/json"), (b"www-authenticate", b'Bearer realm="talent-data-hub"')]})
        await send({"type": "http.response.body", "body": unauthenticated_body(message)})


async def _send_json(scope: Scope, send: Send, status: int, body: Any,
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
    # A websocket's upgrade request is answered through the ASGI denial response (uvicorn offers it): the same
    # status and body as an HTTP request, where an http.response message would be a server error.
    prefix = "websocket." if scope["type"] == "websocket" else ""
    await send({"type": prefix + "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), *(headers or [])]})
    await send({"type": prefix + "http.response.body", "body": orjson.dumps(body)})
