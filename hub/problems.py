"""One line a person can act on for a failed connection: which database or hub URL, the cause in words, and the
setting to check. Used where connections are made (``hub.db.runtime.connect``, the sync client) and by the
CLI's error reporting (``hub.cli.support``)."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import parse_qs, urlsplit

import asyncpg


def os_cause(exc: BaseException) -> str | None:
    """A short cause for a network-level error anywhere in ``exc``'s chain (None: not one)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, socket.gaierror):
            return "unknown host (name not found)"
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
            return "timed out"
        if isinstance(exc, OSError) and exc.strerror:
            return exc.strerror[:1].lower() + exc.strerror[1:]
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def url_target(url: str) -> str:
    """``host:port`` (or the socket directory) a database or hub URL points at; the URL itself if unreadable."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return redact(url)
    if not host:
        host = (parse_qs(parts.query).get("host") or [""])[0] or "localhost"
        if host.startswith("/"):
            return f"the socket in {host}"
    default = {"http": 80, "https": 443}.get(parts.scheme, 5432)
    return f"{host}:{port or default}"


def redact(url: str) -> str:
    """A URL safe to print: the password is hidden."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds and creds.split(":", 1)[1] else f"{scheme}://{user}@{host}"


def database_problem(url: str, exc: BaseException, setting: str = "DATABASE_URL") -> str:
    """One line naming the database a connection to ``url`` failed on, the cause, and the setting to check."""
    target = url_target(url)
    cause = os_cause(exc)
    if cause is None:
        if isinstance(exc, asyncpg.ClientConfigurationError) or isinstance(exc, (ValueError, OverflowError)):
            reason = str(exc).removeprefix("invalid DSN: ").replace("\n", " ")
            return f"{redact(url)} is not a usable PostgreSQL URL: {reason} — check {setting}"
        if isinstance(exc, (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)):
            cause = f"authentication failed ({getattr(exc, 'message', exc)})"
        elif isinstance(exc, asyncpg.PostgresError):
            cause = getattr(exc, "message", None) or str(exc)
        else:
            cause = str(exc) or type(exc).__name__
    return f"cannot connect to {target}: {cause} — check {setting}"


def http_problem(url: str, exc: BaseException, setting: str = "--url or HUB_URL") -> str:
    """One line naming the hub URL a request failed on, the cause, and what to check."""
    cause = os_cause(exc) or str(exc) or type(exc).__name__
    return f"cannot connect to {url}: {cause} — check {setting}"
