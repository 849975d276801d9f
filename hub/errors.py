"""The hub's expected failures, each with a stable GraphQL ``extensions.code``.

Exception tree::

    HubError                      (code: INTERNAL_SERVER_ERROR; never raised directly)
    ├── Unauthenticated           UNAUTHENTICATED      missing, unknown or revoked token
    ├── Forbidden                 FORBIDDEN            the sharing rules refuse the read or write
    ├── NotFound                  NOT_FOUND            a named object does not exist
    ├── BadUserInput              BAD_USER_INPUT       arguments out of range, malformed cursor, bad codes
    ├── LimitExceeded             LIMIT_EXCEEDED       depth/cost/page-size/time limits
    ├── Conflict                  CONFLICT             the write collides with existing data
    ├── CursorExpired             CURSOR_EXPIRED       a feed cursor older than the change log's retention
    └── ServiceUnavailable        SERVICE_UNAVAILABLE  the database cannot be reached right now

    SetupError                    configuration or migration problems at start-up (CLI, not GraphQL)
    └── MigrationError            an applied migration changed, or a migration failed

Anything else raised while answering a request is unexpected: it is masked with a reference id
(see ``hub.api.errors``) and logged with the trace id. asyncpg's SQLSTATE errors are mapped to
this tree in exactly one place, ``from_db_error``.
"""

from __future__ import annotations

from typing import Any, NoReturn

import asyncpg


class HubError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: Any):
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class Unauthenticated(HubError):
    code = "UNAUTHENTICATED"


class Forbidden(HubError):
    code = "FORBIDDEN"


class NotFound(HubError):
    code = "NOT_FOUND"


class BadUserInput(HubError):
    code = "BAD_USER_INPUT"


class LimitExceeded(HubError):
    code = "LIMIT_EXCEEDED"


class Conflict(HubError):
    code = "CONFLICT"


class CursorExpired(HubError):
    """The change log no longer holds the changes after this cursor: take a new snapshot."""

    code = "CURSOR_EXPIRED"


class ServiceUnavailable(HubError):
    code = "SERVICE_UNAVAILABLE"


class OperationNotAllowed(HubError):
    """An operation type the request's transport does not carry: a mutation over GET, a subscription over HTTP
    (subscriptions run over the websocket)."""

    code = "OPERATION_NOT_ALLOWED"


class SetupError(Exception):
    """The hub cannot start: bad configuration, unreachable database, broken migrations."""


class MigrationError(SetupError):
    pass


_CONNECTION_ERRORS = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.InterfaceError,
    ConnectionError,
    OSError,
)


def from_db_error(exc: BaseException) -> HubError | None:
    """Map a database-layer exception to the hub's error tree (None: not an expected failure)."""
    if isinstance(exc, asyncpg.exceptions.QueryCanceledError):
        return LimitExceeded("the query ran longer than the statement timeout", limit="statementTimeout")
    if isinstance(exc, (asyncpg.exceptions.CheckViolationError, asyncpg.exceptions.NotNullViolationError,
                        asyncpg.exceptions.ForeignKeyViolationError, asyncpg.exceptions.DataError)):
        detail = getattr(exc, "message", None) or str(exc)
        return BadUserInput(f"invalid value: {detail}")
    if isinstance(exc, asyncpg.exceptions.UniqueViolationError):
        return Conflict(f"already exists: {getattr(exc, 'detail', None) or exc}")
    if isinstance(exc, _CONNECTION_ERRORS):
        return ServiceUnavailable("the database is unavailable; retry shortly")
    return None


def raise_mapped(exc: Exception) -> NoReturn:
    """Raise ``exc`` as the hub error it maps to (``from_db_error``), else as it is (call in an ``except``)."""
    mapped = from_db_error(exc)
    if mapped is None:
        raise exc
    raise mapped from exc
