"""The GraphQL HTTP endpoint: strawberry's ASGI view with the hub's context, JSON and GraphiQL page."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from hub.context import Context
from hub.graphql_errors import shape_error
from hub.settings import Settings


class HubGraphQL(GraphQL):
    def __init__(self, schema: Any, settings: Settings):
        super().__init__(schema, graphql_ide="graphiql" if settings.graphiql else None, allow_queries_via_get=True)
        self.settings = settings

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return Context(self.settings, request.app.state.db, request=request, response=response)

    async def render_graphql_ide(self, request: Request) -> Response:
        from hub.graphiql import graphiql_html

        return HTMLResponse(graphiql_html(endpoint=str(request.url.path)))

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        # Parse errors can bypass schema extensions; shape every error here too (idempotent).
        if result.errors:
            result.errors = [shape_error(e) for e in result.errors]
        return await super().process_result(request, result)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
