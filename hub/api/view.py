"""The GraphQL HTTP endpoint: strawberry's ASGI view with the hub's context, JSON and GraphiQL page.

Responses follow GraphQL over HTTP (``hub.api.over_http``): the media type is negotiated from ``Accept``
(``application/graphql-response+json`` or ``application/json``) and sets the status code, identically on
the compiled path and the general path. Malformed requests (bad JSON, invalid UTF-8, a wrong content
type, a non-string ``query`` or ``operationName``, batches) get a 4xx with a coded error body; a database
that cannot be reached while the request context is built gets 503 SERVICE_UNAVAILABLE with
``Retry-After``; anything unexpected is a coded 500 (hub.http.errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from hub.api.compiled import CompiledQueries
from hub.api.context import Context
from hub.api.errors import shape_error
from hub.api.graphiql import graphiql_html
from hub.api.over_http import (
    CONTENT_TYPES,
    JSON,
    RETRY_AFTER_SECONDS,
    content_type,
    error_response,
    response_media_type,
    shape_response,
)
from hub.api.trusted import TrustedDocuments
from hub.api.ws_auth import authenticate_ws
from hub.api.ws_handler import HubTransportWSHandler
from hub.api.ws_limits import MAX_OPERATIONS_PER_SOCKET
from hub.errors import HubError, OperationNotAllowed
from hub.governance.access import Access
from hub.settings import Settings
from hub.telemetry.tracing import with_trace_id

# The status of a HubError raised before any GraphQL response exists (building the request's context).
_HUB_ERROR_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "SERVICE_UNAVAILABLE": 503, "LIMIT_EXCEEDED": 503}


class HubGraphQL(GraphQL):
    # Websockets speak graphql-transport-ws only (not the legacy graphql-ws protocol), through the hub's handler:
    # every operation on a socket is authorised, rate limited and audited like an HTTP request (hub.api.ws_handler).
    graphql_transport_ws_handler_class = HubTransportWSHandler

    def __init__(self, schema: Any, settings: Settings):
        # A socket that sends no connection_init within HUB_WS_INIT_TIMEOUT_SECONDS is closed (4408, by strawberry's
        # handler); one socket runs at most MAX_OPERATIONS_PER_SOCKET operations at once (hub.api.ws_limits).
        super().__init__(schema, graphql_ide="graphiql" if settings.graphiql else None, allow_queries_via_get=True,
                         subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
                         max_subscriptions_per_connection=MAX_OPERATIONS_PER_SOCKET)
        self.settings = settings
        self.trusted = TrustedDocuments.load()  # graphql/operations/**/*.graphql, by sha256
        # Resolver spans (HUB_TRACE_RESOLVERS, for debugging) need the resolvers: the general path answers then.
        compiled = settings.compiled_queries and not settings.trace_resolvers
        self.compiled = CompiledQueries(schema, settings, self.trusted) if compiled else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """A query (POSTed, or a GET's parameters) is answered by its compiled plan (hub.api.compiled); everything
        else, and anything the plan cannot answer exactly, by strawberry from the same request. The plan only answers
        successful results, which are 200 in either media type: both paths send the same bytes and headers."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        media_type = response_media_type(_header(scope, b"accept"))
        try:
            if self.compiled is not None and scope["method"] == "POST":
                body = await _read_body(receive)
                answer = await self._compiled_answer(scope, _json_body(scope, body))
                if answer is not None:
                    await _send_answer(send, answer, media_type)
                    return
                receive = _replay(body, receive)
            elif self.compiled is not None and scope["method"] == "GET" and scope.get("query_string"):
                answer = await self._compiled_answer(scope, _query_params(scope))
                if answer is not None:
                    await _send_answer(send, answer, media_type)
                    return
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            response = error_response(exc.status_code, exc.reason, media_type)
        except HubError as exc:  # the request's context could not be built (database unavailable, ...)
            response = error_response(_HUB_ERROR_STATUS.get(exc.code, 400), exc.message, media_type, exc.code,
                                      **exc.extensions)
        # Anything else propagates: to the middleware that raised it (a body over the limit) or to the app's
        # last-resort handler (hub.http.errors: a coded 500 with a reference id).
        await response(scope, receive, send)

    async def _compiled_answer(self, scope: Any, payload: Any) -> bytes | None:
        found = self.compiled.lookup(payload)
        if found is None:
            return None
        context = await self.get_context(Request(scope), None)
        return await self.compiled.answer(context, found)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        state = request.app.state
        consumer = request.scope.get("hub.consumer")
        catalog = await state.policy.catalog()
        grants = await state.policy.grants(consumer.department) if consumer is not None else {}
        access = Access(consumer, catalog, grants)
        context = Context(self.settings, state.db, access, request=request, response=response)
        context.token_hash = request.scope.get("hub.token_hash")
        return context

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.hub_media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        """The negotiated media type and the status of GraphQL over HTTP (``hub.api.over_http``)."""
        media_type = getattr(sub_response, "hub_media_type", JSON)
        status = 200
        if isinstance(response_data, dict):
            response_data, status = shape_response(media_type, response_data)
        response = Response(self.encode_json(response_data), status_code=status,
                            media_type=content_type(media_type))
        response.headers.raw.extend(sub_response.headers.raw)
        if status == 503:
            response.headers["retry-after"] = str(RETRY_AFTER_SECONDS)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

    async def on_ws_connect(self, context: Context) -> Any:
        """graphql-transport-ws ``connection_init``: a websocket opened without an Authorization header (browsers
        cannot send one) authenticates with ``{"Authorization": "Bearer <token>"}`` in the payload. Each operation
        is then authorised again (``hub.api.ws_handler``). The socket then takes one of its consumer's slots
        (``hub.api.ws_limits``): ``TooManySockets`` over the cap, which the handler turns into a close."""
        if context.consumer is None and not await authenticate_ws(context):
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.socket_slot = context.request.app.state.sockets.take(context.consumer.id)
        return UNSET

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql_html(endpoint=str(request.url.path)))

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        # Parse errors can bypass schema extensions; shape every error here too (idempotent).
        if result.errors:
            result.errors = [shape_error(e) for e in result.errors]
        response = await super().process_result(request, result)
        extensions = with_trace_id(response.get("extensions"))  # the request's trace, also in `traceresponse`
        if extensions:
            response["extensions"] = extensions
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """orjson: invalid UTF-8, lone surrogates, nesting deeper than 1024 and numbers out of range are
        JSON errors (HTTP 400) instead of exceptions graphql-core or asyncpg would meet later."""
        return orjson.loads(data)

    # -- trusted documents (hub.api.trusted) -----------------------------------------------------------

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET carrying a persisted query (``?extensions=...``) is an operation, not the IDE page.
        return super().should_render_graphql_ide(request) and request.query_params.get("extensions") is None

    async def parse_http_body(self, request: Any) -> Any:
        """strawberry's parsing (a wrong content type is 415, ``operationName`` must be a string or null),
        then the persisted/trusted document substitution (before execution)."""
        try:
            data = await super().parse_http_body(request)
        except HTTPException as exc:
            if exc.reason == "Unsupported content type":
                raise HTTPException(415, "Unsupported content type: send application/json") from exc
            raise
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item.operation_name, (str, type(None))):
                raise HTTPException(400, "The GraphQL operation's `operationName` must be a string or null, "
                                         "if provided.")
        if isinstance(data, list):
            return [self._trusted_document(item) for item in data]
        return self._trusted_document(data)

    def _trusted_document(self, data: GraphQLRequestData) -> GraphQLRequestData:
        try:
            query, _hash = self.trusted.resolve(data.query, data.extensions, self.settings.trusted_documents_only)
        except HubError as exc:
            return _RefusedRequest(data.query, data.variables, data.operation_name, data.extensions, data.protocol,
                                   error=exc)
        data.query = query
        return data

    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any, context: Any,
                             root_value: Any, request_data: GraphQLRequestData) -> ExecutionResult:
        error = getattr(request_data, "error", None)
        if error is not None:
            return ExecutionResult(data=None, errors=[
                GraphQLError(error.message, extensions={"code": error.code, **error.extensions})])
        try:
            return await super().execute_single(request=request, request_adapter=request_adapter,
                                                sub_response=sub_response, context=context, root_value=root_value,
                                                request_data=request_data)
        except HTTPException as exc:  # strawberry's 400 for an operation type the method does not carry
            refused = exc.__cause__
            if not isinstance(refused, InvalidOperationTypeError):
                raise
            where = "over HTTP: subscribe over the websocket at /graphql (graphql-transport-ws)" \
                if refused.operation_type is OperationType.SUBSCRIPTION else None
            raise OperationNotAllowed(f"subscriptions are not allowed {where}" if where else exc.reason) from refused


@dataclass
class _RefusedRequest(GraphQLRequestData):
    """A request refused while parsing (unknown or untrusted document): answered with ``error``, not run."""

    error: HubError | None = None


# The Content-Type header of each response media type, as starlette's Response writes it (its charset rule included).
_CONTENT_TYPE_HEADERS = {media: Response(b"", media_type=value).raw_headers[-1]
                         for media, value in CONTENT_TYPES.items()}


async def _send_answer(send: Any, body: bytes, media_type: str) -> None:
    """A compiled answer: what ``Response(body, media_type=content_type(media_type))`` sends (200, its Content-Length
    and Content-Type headers in its order, the body), without building a Response per request."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode("latin-1")), _CONTENT_TYPE_HEADERS[media_type]]})
    await send({"type": "http.response.body", "body": body})


def _json_body(scope: Any, body: bytes) -> Any:
    """A POSTed JSON body, or None (not JSON: the general path answers)."""
    content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    if not content_type.startswith(b"application/json"):
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _query_params(scope: Any) -> dict[str, Any] | None:
    """A GET's operation as strawberry reads it (``parse_query_params``: the last value of each parameter,
    ``variables`` and ``extensions`` as JSON), or None when they are not JSON (the general path answers)."""
    params = dict(QueryParams(scope["query_string"]))
    try:
        for name in ("variables", "extensions"):
            if params.get(name):
                params[name] = orjson.loads(params[name])
    except orjson.JSONDecodeError:
        return None
    return params


def _header(scope: Any, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _read_body(receive: Any) -> bytes:
    """The whole request body (its size is bounded by BodySizeLimitMiddleware upstream)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, original: Any) -> Any:
    """A receive callable that yields the already-read body once, then the connection's own messages."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
