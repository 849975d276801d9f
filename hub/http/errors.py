"""Coded JSON answers for errors outside GraphQL: starlette's own HTTP errors (an unknown path is 404, a
wrong method 405) and, as the last resort, an unhandled exception (500, masked with a reference id and
logged). Installed by ``hub.app.create_app`` as the app's exception handlers."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from hub.api.over_http import error_response, response_media_type

log = logging.getLogger("hub.errors")


async def http_exception(request: Request, exc: Exception) -> Response:
    """``{"errors": [{"message", "extensions": {"code"}}]}`` with the exception's status and headers."""
    assert isinstance(exc, HTTPException)
    response = error_response(exc.status_code, str(exc.detail), response_media_type(request.headers.get("accept")))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def unhandled_exception(request: Request, exc: Exception) -> Response:
    """INTERNAL_SERVER_ERROR with a reference id; the details go to the log only."""
    reference = uuid.uuid4().hex[:12]
    log.error("unhandled error on %s %s (reference %s)", request.method, request.url.path, reference, exc_info=exc)
    return error_response(500, f"Internal server error (reference {reference})",
                          response_media_type(request.headers.get("accept")), "INTERNAL_SERVER_ERROR",
                          reference=reference)


def exception_handlers() -> dict[Any, Any]:
    return {HTTPException: http_exception, Exception: unhandled_exception}
