"""Error shaping: every GraphQL error leaves the hub with a stable ``extensions.code``.

Expected failures (``hub.errors.HubError``) keep their message and code. Parse, validation and
variable-coercion errors get GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED or BAD_USER_INPUT.
Anything else is unexpected: the client sees "Internal server error" with a reference id, and the
full exception is logged once with that id and the trace id.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Iterator

from strawberry.extensions import SchemaExtension

from graphql import GraphQLError
from hub.errors import HubError, from_db_error
from hub.telemetry.tracing import current_ids

log = logging.getLogger("hub.errors")

KNOWN_CODES = frozenset({
    "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT", "LIMIT_EXCEEDED", "CONFLICT", "CURSOR_EXPIRED",
    "SERVICE_UNAVAILABLE", "INTERNAL_SERVER_ERROR", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED",
    "PERSISTED_QUERY_NOT_FOUND", "PERSISTED_QUERY_NOT_ALLOWED", "OPERATION_NOT_ALLOWED",
})


def _with_extensions(error: GraphQLError, message: str, extensions: dict) -> GraphQLError:
    return GraphQLError(message, nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, original_error=None, extensions=extensions)


def shape_error(error: GraphQLError) -> GraphQLError:
    if error.extensions and error.extensions.get("code") in KNOWN_CODES:
        return error
    original = error.original_error
    # graphql-core wraps resolver exceptions; unwrap nested GraphQLErrors.
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if original is not None and not isinstance(original, HubError):
        mapped = from_db_error(original)
        if mapped is not None:
            original = mapped
    if isinstance(original, HubError):
        return _with_extensions(error, original.message, {"code": original.code, **original.extensions})
    if original is None or isinstance(original, GraphQLError):
        message = error.message
        if message.startswith("Syntax Error"):
            code = "GRAPHQL_PARSE_FAILED"
        elif message.startswith("Variable '$") or "got invalid value" in message or "Expected value of type" in message:
            code = "BAD_USER_INPUT"
        else:
            code = "GRAPHQL_VALIDATION_FAILED"
        return _with_extensions(error, message, {**(error.extensions or {}), "code": code})
    reference = uuid.uuid4().hex[:12]
    trace_id, span_id = current_ids()
    log.error("unexpected error (reference %s, trace %s) at %s", reference, trace_id, error.path,
              exc_info=(type(original), original, original.__traceback__),
              extra={"fields": {"reference": reference, "trace_id": trace_id, "span_id": span_id,
                                "path": list(error.path or ())}})
    return _with_extensions(error, f"Internal server error (reference {reference})",
                            {"code": "INTERNAL_SERVER_ERROR", "reference": reference})


class ErrorCodes(SchemaExtension):
    """Shapes the errors of every result (runs last, after the other extensions)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and getattr(result, "errors", None):
            result.errors = [shape_error(e) for e in result.errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Subscriptions: each result sent over the websocket is shaped before it leaves."""
        if getattr(result, "errors", None):
            result.errors = [shape_error(e) for e in result.errors]
        yield
