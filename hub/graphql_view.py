"""The GraphQL HTTP endpoint: strawberry's ASGI view with the hub's context, JSON and GraphiQL page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from hub.access import Access
from hub.compiled import CompiledQueries
from hub.context import Context
from hub.errors import HubError
from hub.graphql_errors import shape_error
from hub.settings import Settings
from hub.tracing import current_ids
from hub.trusted import TrustedDocuments


class HubGraphQL(GraphQL):
    def __init__(self, schema: Any, settings: Settings):
        super().__init__(schema, graphql_ide="graphiql" if settings.graphiql else None, allow_queries_via_get=True)
        self.settings = settings
        self.trusted = TrustedDocuments.load()  # graphql/operations/**/*.graphql, by sha256
        self.compiled = CompiledQueries(schema, settings, self.trusted) if settings.compiled_queries else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """A POSTed trusted query is answered by its compiled plan (hub.compiled); everything else, and
        anything the plan cannot answer exactly, by strawberry from the same body."""
        if self.compiled is not None and scope["type"] == "http" and scope["method"] == "POST":
            body = await _read_body(receive)
            answer = await self._compiled_answer(scope, body)
            if answer is not None:
                await Response(answer, media_type="application/json")(scope, receive, send)
                return
            receive = _replay(body, receive)
        await super().__call__(scope, receive, send)

    async def _compiled_answer(self, scope: Any, body: bytes) -> bytes | None:
        content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
        if not content_type.startswith(b"application/json"):
            return None
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if self.compiled.lookup(payload) is None:
            return None
        request = Request(scope)
        context = await self.get_context(request, None)
        return await self.compiled.answer(context, payload)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        state = request.app.state
        consumer = request.scope.get("hub.consumer")
        catalog = await state.policy.catalog()
        grants = await state.policy.grants(consumer.department) if consumer is not None else {}
        access = Access(consumer, catalog, grants)
        return Context(self.settings, state.db, access, request=request, response=response)

    async def on_ws_connect(self, context: Context) -> Any:
        """graphql-transport-ws ``connection_init``: a websocket opened without an Authorization header (browsers
        cannot send one) authenticates with ``{"Authorization": "Bearer <token>"}`` in the payload."""
        from strawberry.exceptions import ConnectionRejectionError
        from strawberry.types.unset import UNSET

        from hub.ws_auth import authenticate_ws

        if context.consumer is None and not await authenticate_ws(context):
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        return UNSET

    async def render_graphql_ide(self, request: Request) -> Response:
        from hub.graphiql import graphiql_html

        return HTMLResponse(graphiql_html(endpoint=str(request.url.path)))

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        # Parse errors can bypass schema extensions; shape every error here too (idempotent).
        if result.errors:
            result.errors = [shape_error(e) for e in result.errors]
        response = await super().process_result(request, result)
        trace_id, _span_id = current_ids()  # the request's trace (hub.observe), also in `traceresponse`
        if trace_id is not None:
            response["extensions"] = {**(response.get("extensions") or {}), "traceId": trace_id}
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    # -- trusted documents (hub.trusted) -----------------------------------------------------------

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET carrying a persisted query (``?extensions=...``) is an operation, not the IDE page.
        return super().should_render_graphql_ide(request) and request.query_params.get("extensions") is None

    async def parse_http_body(self, request: Any) -> Any:
        """strawberry's parsing, then the persisted/trusted document substitution (before execution)."""
        data = await super().parse_http_body(request)
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
        return await super().execute_single(request=request, request_adapter=request_adapter,
                                            sub_response=sub_response, context=context, root_value=root_value,
                                            request_data=request_data)


@dataclass
class _RefusedRequest(GraphQLRequestData):
    """A request refused while parsing (unknown or untrusted document): answered with ``error``, not run."""

    error: HubError | None = None


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
