"""Paths with a control character are no path of the hub: 404 before routing.

starlette matches a route's pattern with ``re.match`` and ``$``, and ``$`` also matches before a final newline, so
``GET /metrics%0A`` (the path ``/metrics\\n``) was answered by the ``/metrics`` route, ``/reports/2023%0A`` by the
report's. A proxy that keeps a path internal by matching it exactly (the deploy's nginx: ``location = /metrics``
answers 404) sees ``/metrics\\n``, which it does not match, and passes the request on as sent: the hub then served
its metrics to the outside. No route of the hub has a control character (U+0000-U+001F, U+007F) in it, so such a
path is answered 404 NOT_FOUND here, the answer of an unknown path (``hub.http.errors``), and a websocket is closed.
The check is the innermost middleware (``hub.app``), after the ``/graphql`` shortcut, which takes only the exact
path: the hub's other middleware see such a request as any other (authentication asks a path under a protected
prefix, ``/graphql%0A`` say, for a token first), and the requests the shortcut answers do not pay for the check.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from hub.api.over_http import error_response, response_media_type

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ControlCharacterPathMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not _CONTROL.search(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "Not Found"})
            return
        accept = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept"), None)
        await error_response(404, "Not Found", response_media_type(accept))(scope, receive, send)
