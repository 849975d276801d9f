"""Who may read ``GET /metrics``: anyone (the default), or only a scraper sending the bearer token of
``HUB_METRICS_TOKEN_FILE``.

An anonymous scrape tells a caller the GraphQL operation names consumers send (client text: a name may say what a
department looks for), which datasets are ingested into and how much, the error codes answered, the SQL statements
run and how the pools are loaded. The deploy keeps ``/metrics`` off the proxy and relies on the network to keep it
internal; an operator who wants the hub itself to refuse it puts a token in a file (a Kubernetes Secret mounted as a
file, a Docker secret) and gives Prometheus the same file (``authorization: {credentials_file: ...}`` in its scrape
config). The token is not a consumer's: it opens ``/metrics`` only, and no consumer token (an admin's neither) opens
``/metrics`` — a data token in a scraper's config would be a data token on one more machine.

Refusals are 401 UNAUTHENTICATED with a ``WWW-Authenticate`` challenge, the JSON error every other path answers; the
token is compared in constant time. An unreadable or empty file stops the hub at start-up (``SetupError``), never a
5xx at scrape time.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from hub.errors import SetupError
from hub.http.auth import parse_authorization, unauthenticated_body
from hub.settings import Settings

Endpoint = Callable[[Request], Awaitable[Response]]
_MIN_TOKEN_CHARS = 16


def metrics_token(settings: Settings) -> str | None:
    """The token of ``HUB_METRICS_TOKEN_FILE`` (its first line, stripped), or None when the setting is unset."""
    path: Path | None = settings.metrics_token_file
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"HUB_METRICS_TOKEN_FILE={path}: cannot read it ({exc})") from None
    lines = text.strip().splitlines()
    token = lines[0].strip() if lines else ""
    if len(token) < _MIN_TOKEN_CHARS or not token.isascii() or not token.isprintable() or " " in token:
        raise SetupError(f"HUB_METRICS_TOKEN_FILE={path}: its first line must be a token of at least "
                         f"{_MIN_TOKEN_CHARS} printable ASCII characters without spaces (e.g. openssl rand -hex 32)")
    return token


def protected(endpoint: Endpoint, token: str | None) -> Endpoint:
    """``endpoint`` as is without a token; else answering only a request that sends
    ``Authorization: Bearer <token>``."""
    if token is None:
        return endpoint
    expected = token.encode("ascii")

    async def metrics(request: Request) -> Response:
        sent, problem = parse_authorization(request.headers.get("authorization", ""))
        if sent is None or not hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), expected):
            message = problem or ("missing bearer token: /metrics needs Authorization: Bearer <the token of "
                                  "HUB_METRICS_TOKEN_FILE>" if sent is None else "wrong token for /metrics")
            return Response(unauthenticated_body(message), status_code=401, media_type="application/json",
                            headers={"WWW-Authenticate": 'Bearer realm="talent-data-hub metrics"',
                                     "Cache-Control": "no-store"})
        return await endpoint(request)

    return metrics
