"""The GraphQL endpoint reached straight from the hub's middleware stack, without starlette's router.

A GET or POST of exactly ``GRAPHQL_PATH`` is what the router sends to the GraphQL view (the first route of
``hub.app``; no path parameters, no ``root_path`` to strip), so ``ShortcutMiddleware``, the innermost of the hub's
middleware, hands it to the view itself: starlette's ``ExceptionMiddleware`` and router (matching, the route's
scope) cost ~44,000 instructions per request (callgrind, a trivial endpoint), a twentieth of a single lookup. Every
other request (another path or method, ``/graphql/``, HEAD, a websocket, a ``root_path``) takes the router as
before. Nothing the view relies on is lost: it answers ``HTTPException`` and ``HubError`` itself
(``hub.api.view``), and an unexpected exception still reaches starlette's ``ServerErrorMiddleware`` outside the
hub's middleware (the coded 500 with a reference, ``hub.http.errors``); the access line and the request metrics
name the route from its path (``hub.telemetry.observe``). Hand-written: starlette has no such option.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

GRAPHQL_PATH = "/graphql"  # the GraphQL endpoint's route (hub.app) and this shortcut's path
GRAPHQL_METHODS = ("GET", "POST")  # the route's methods (starlette adds HEAD to a GET route: that one is routed)


class ShortcutMiddleware:
    def __init__(self, app: ASGIApp, endpoint: ASGIApp, path: str = GRAPHQL_PATH):
        self.app = app
        self.endpoint = endpoint
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["path"] == self.path and scope["method"] in GRAPHQL_METHODS
                and not scope.get("root_path")):
            await self.endpoint(scope, receive, send)
            return
        await self.app(scope, receive, send)
