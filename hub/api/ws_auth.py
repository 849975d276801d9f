"""Authentication and authorisation of GraphQL websockets (graphql-transport-ws): every operation like a request.

``hub.http.auth`` lets a websocket without an Authorization header through with ``scope["hub.consumer"] = None``
(a browser cannot set headers on a websocket). The client then sends the token in the ``connection_init``
payload, ``{"Authorization": "Bearer <token>"}``; ``HubGraphQL.on_ws_connect`` calls ``authenticate_ws``
and refuses the connection (close code 4403) when it fails. The token is checked exactly as for HTTP, and
its SHA-256 is kept on the connection's context (``token_hash``; a header-authenticated socket gets it from
``scope["hub.token_hash"]``).

Nothing decided at ``connection_init`` is reused afterwards. For each operation on the socket,
``operation_access`` looks the consumer up again by that hash and rebuilds its ``Access`` through the same
caches as HTTP (``ConsumerCache``, ``PolicyStore``: changes made by other processes are seen within
``HUB_POLICY_CACHE_SECONDS``), then takes a token from the consumer's rate-limit bucket (the one HTTP requests
use). A running subscription re-checks what it reads (``recheck``) before each event and, while idle, every
``recheck_seconds``: ``watch_subscriptions`` wraps every subscription field's event stream so that it ends with
FORBIDDEN (a grant revoked or expired) or UNAUTHENTICATED (the token revoked). ``hub.api.ws_handler`` applies all
this to the protocol: refusals, per-operation contexts, and the close (4403) of a socket whose token was revoked.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable

from graphql import GraphQLSchema
from hub.errors import HubError, LimitExceeded, Unauthenticated, raise_mapped
from hub.governance.access import Access
from hub.governance.consumers import Consumer, hash_token

if TYPE_CHECKING:
    from hub.api.context import Context

log = logging.getLogger("hub.auth")

REVOKED_CLOSE_CODE = 4403  # as for a refused connection_init (strawberry's "Forbidden")
REVOKED_CLOSE_REASON = "Forbidden: unknown or revoked token"
_MIN_RECHECK_SECONDS = 0.05
_UNCACHED_RECHECK_SECONDS = 0.25  # HUB_POLICY_CACHE_SECONDS=0 (tests): nothing is cached, poll at this pace


def recheck_seconds(policy_cache_seconds: float) -> float:
    """How often an idle socket and an idle subscription are re-checked: a quarter of the policy-cache window,
    so that a change is acted on at most a quarter window after the caches show it."""
    if policy_cache_seconds <= 0:
        return _UNCACHED_RECHECK_SECONDS
    return max(policy_cache_seconds / 4, _MIN_RECHECK_SECONDS)


def _bearer_hash(params: dict[str, Any]) -> str | None:
    raw = params.get("Authorization", params.get("authorization"))
    if not isinstance(raw, str):
        return None
    scheme, _, token = raw.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return hash_token(token.strip())


async def current_consumer(state: Any, token_hash: str | None) -> Consumer:
    """The consumer holding the token now (through the app's ConsumerCache); UNAUTHENTICATED when the token is
    unknown or revoked, SERVICE_UNAVAILABLE when the database cannot answer."""
    if token_hash is None:
        raise Unauthenticated("authentication required")
    consumer = await _mapped(state.consumers.lookup(state.db, token_hash))
    if consumer is None:
        raise Unauthenticated("unknown or revoked token")
    return consumer


async def current_access(state: Any, token_hash: str | None) -> Access:
    """What the token's consumer may read now: its catalog and active grants, from the app's PolicyStore."""
    consumer = await current_consumer(state, token_hash)
    catalog = await _mapped(state.policy.catalog())
    grants = await _mapped(state.policy.grants(consumer.department))
    return Access(consumer, catalog, grants)


async def _mapped(pending: Any) -> Any:
    try:
        return await pending
    except HubError:
        raise
    except Exception as exc:
        raise_mapped(exc)


async def authenticate_ws(context: "Context") -> bool:
    """Set the context's consumer, access and token hash from the connection_init payload; False when the
    token is missing, unknown or revoked (or the database cannot tell)."""
    token_hash = _bearer_hash(context.connection_params or {})
    if token_hash is None:
        return False
    websocket = context.request
    try:
        access = await current_access(websocket.app.state, token_hash)
    except Unauthenticated:
        return False
    except Exception:  # noqa: BLE001 - the database is unavailable: refuse, the client reconnects
        log.warning("websocket authentication failed", exc_info=True)
        return False
    context.consumer = access.consumer
    context.access = access
    context.token_hash = token_hash
    websocket.scope["hub.consumer"] = access.consumer
    return True


async def operation_access(connection: "Context") -> Access:
    """The Access of one operation on an authenticated socket, decided as for an HTTP request: the consumer
    looked up again (UNAUTHENTICATED once the token is revoked), its current grants, and one token of its rate
    limit (LIMIT_EXCEEDED rateLimit, as HTTP's 429)."""
    websocket = connection.request
    access = await current_access(websocket.app.state, connection.token_hash)
    limiter = websocket.app.state.rate_limiter  # hub.http.limits.TokenBuckets, shared with HTTP and the other workers
    wait = limiter.take(access.consumer.id)
    if wait > 0:
        message, _extensions, retry_after = limiter.refusal(wait)
        raise LimitExceeded(message, limit="rateLimit", value=limiter.rate, retryAfter=retry_after)
    return access


async def recheck(context: "Context") -> None:
    """A running operation (a subscription) may go on reading what it read: raises UNAUTHENTICATED when its
    token was revoked, FORBIDDEN when a dataset it reads is no longer readable (``Access.renew``)."""
    fresh = await current_access(context.request.app.state, context.token_hash)
    context.access.renew(fresh)


# --- running subscriptions -------------------------------------------------------------------------

def watch_subscriptions(schema: GraphQLSchema) -> None:
    """Wrap the ``subscribe`` of every subscription field (installed once on the built schema, as the access
    guards are): the stream it returns is watched by ``_while_allowed``, and ``context.subscription_started``
    tells the audit (``hub.api.audit.AuditExtension``) that the subscription started. A subscription resolver makes
    its access decisions before it returns its stream (a coroutine returning an async generator), so that the
    start is recorded with what it reads."""
    root = schema.subscription_type
    if root is None:
        return
    for field in root.fields.values():
        if field.subscribe is not None:
            field.subscribe = _watched(field.subscribe)


def _watched(subscribe: Callable[..., Any]) -> Callable[..., Any]:
    async def watched(source: Any, info: Any, **kwargs: Any) -> AsyncIterator[Any]:
        try:
            stream = subscribe(source, info, **kwargs)
            if inspect.isawaitable(stream):
                stream = await stream
        except HubError as refused:
            # Refused at the start (FORBIDDEN, NOT_FOUND...): delivered as the subscription's only result (``next``
            # with the error, then ``complete``), as when a resolver refuses on its first iteration; strawberry
            # would send an error raised here as a protocol ``error`` message instead.
            return _refused(refused)
        context = info.context
        context.subscription_started = True
        return _while_allowed(stream, context)

    return watched


async def _refused(error: HubError) -> AsyncIterator[Any]:
    raise error
    yield  # an async generator that raises on its first iteration


async def _while_allowed(stream: Any, context: "Context") -> AsyncIterator[Any]:
    """The events of ``stream`` while the subscription may still read them: re-checked before each event is
    delivered and every ``recheck_seconds`` while waiting for one; the error ends the subscription (strawberry
    sends it as the last result, then ``complete``)."""
    interval = recheck_seconds(context.settings.policy_cache_seconds)
    iterator = stream.__aiter__()
    try:
        while True:
            pending = asyncio.ensure_future(iterator.__anext__())
            try:
                while not (await asyncio.wait({pending}, timeout=interval))[0]:
                    await recheck(context)
            except BaseException:
                pending.cancel()
                await asyncio.wait({pending})
                if not pending.cancelled():
                    pending.exception()  # retrieved: the error that ends the subscription is the one raised here
                raise
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            await recheck(context)
            yield event
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
