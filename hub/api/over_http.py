"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/): response media type and status code.

**Media type.** ``Accept`` is negotiated between ``application/graphql-response+json`` and
``application/json``: the type with the highest ``q`` wins, an explicitly named type beats a wildcard
(``*/*``, ``application/*``) of equal ``q``, and ``application/graphql-response+json`` beats
``application/json`` of equal ``q``. No ``Accept``, only wildcards, or no supported type at all:
``application/json`` (the spec's legacy default; the hub disregards an unsatisfiable ``Accept`` rather
than answering 406).

**Status.**

* ``application/json``: 200 for every GraphQL response, request errors included (parse, validation,
  variable coercion, limits), as the spec asks for legacy clients.
* ``application/graphql-response+json``: 200 when execution started (``data`` present, possibly null
  after a non-null field failed). A *request error* — no data and no error with a ``path``, i.e. the
  operation never executed — has no ``data`` key and a 4xx: 400, or 401 (UNAUTHENTICATED), 403
  (FORBIDDEN, PERSISTED_QUERY_NOT_ALLOWED, OPERATION_NOT_ALLOWED), 500 (INTERNAL_SERVER_ERROR).
* Either type: a response with no data because the database (or the audit log, which fails closed) is
  unavailable — ``data`` null and a SERVICE_UNAVAILABLE error — is HTTP **503** with ``Retry-After``.
  Nothing could be answered, the request can be retried as is, and proxies and clients treat 503 as
  retryable; under ``application/graphql-response+json`` it has no ``data`` key. Partial answers
  (another department's database down) stay 200 with coded field errors.

Requests that are not well-formed GraphQL-over-HTTP requests (bad JSON, wrong content type, a
non-string ``query`` ...) get a 4xx with a coded error body (``error_response``).
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
from starlette.responses import Response

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
CONTENT_TYPES = {GRAPHQL_RESPONSE_JSON: f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8", JSON: JSON}
RETRY_AFTER_SECONDS = 1
_REQUEST_ERROR_STATUS = {
    "UNAUTHENTICATED": 401, "FORBIDDEN": 403, "PERSISTED_QUERY_NOT_ALLOWED": 403, "OPERATION_NOT_ALLOWED": 403,
    "INTERNAL_SERVER_ERROR": 500, "SERVICE_UNAVAILABLE": 503,
}
# HTTP status of a malformed request -> the code of its error body.
HTTP_ERROR_CODES = {400: "BAD_USER_INPUT", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                    405: "BAD_USER_INPUT", 413: "LIMIT_EXCEEDED", 415: "BAD_USER_INPUT",
                    503: "SERVICE_UNAVAILABLE"}


@functools.lru_cache(maxsize=256)
def response_media_type(accept: str | None) -> str:
    """The media type to answer a request whose ``Accept`` header is ``accept`` with."""
    if not accept:
        return JSON
    best, best_rank = JSON, (0.0, 0)
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if not 0.0 < q <= 1.0:
            continue
        if media == GRAPHQL_RESPONSE_JSON:
            rank, chosen = (q, 3), GRAPHQL_RESPONSE_JSON
        elif media == JSON:
            rank, chosen = (q, 2), JSON
        elif media in ("*/*", "application/*"):
            rank, chosen = (q, 1), JSON
        else:
            continue
        if rank > best_rank:
            best, best_rank = chosen, rank
    return best


def content_type(media_type: str) -> str:
    """The Content-Type header value of ``media_type``."""
    return CONTENT_TYPES[media_type]


def _code(error: Any) -> Any:
    extensions = error.get("extensions") if isinstance(error, dict) else None
    return extensions.get("code") if isinstance(extensions, dict) else None


def shape_response(media_type: str, response: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The body (``data`` dropped where the spec asks) and HTTP status of one GraphQL response."""
    errors = response.get("errors") or []
    if not errors or response.get("data") is not None:
        return response, 200
    codes = [_code(e) for e in errors]
    unavailable = "SERVICE_UNAVAILABLE" in codes
    request_error = not any(isinstance(e, dict) and e.get("path") for e in errors)
    if media_type != GRAPHQL_RESPONSE_JSON:
        return response, 503 if unavailable else 200
    if not (unavailable or request_error):
        return response, 200  # executed; data null after a non-null field failed
    body = {k: v for k, v in response.items() if k != "data"}
    if unavailable:
        return body, 503
    status = max((_REQUEST_ERROR_STATUS.get(c, 400) for c in codes), default=400)
    return body, status


def error_body(message: str, code: str, **extensions: Any) -> bytes:
    """A GraphQL-shaped error document without ``data``."""
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code, **extensions}}]})


def error_response(status: int, message: str, media_type: str, code: str | None = None,
                   **extensions: Any) -> Response:
    """A coded error answer for a request that produced no GraphQL response (``Retry-After`` on 503)."""
    code = code or HTTP_ERROR_CODES.get(status, "BAD_USER_INPUT" if status < 500 else "INTERNAL_SERVER_ERROR")
    headers = {"retry-after": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return Response(error_body(message, code, **extensions), status_code=status,
                    media_type=content_type(media_type), headers=headers)
