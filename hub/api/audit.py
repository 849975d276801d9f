"""The audit entry of each GraphQL operation (``AuditExtension``, a schema extension), written through
``hub.governance.audit.append`` after the operation's errors were shaped; and the error codes an entry (and the
operation span, ``hub.api.telemetry``) records."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator, Iterable, Iterator

from strawberry.extensions import SchemaExtension

from graphql import GraphQLError
from hub.api.errors import shape_error
from hub.api.trusted import document_hash
from hub.errors import HubError, ServiceUnavailable, from_db_error
from hub.governance.audit import UNAVAILABLE_MESSAGE, AuditEntry, append, build_entry
from hub.governance.audit_outbox import clear as clear_outbox
from hub.telemetry.tracing import current_ids

log = logging.getLogger("hub.audit")


def error_codes(errors: Iterable[GraphQLError]) -> list[str]:
    """The errors' ``extensions.code`` in order of first appearance (shaped errors always carry one)."""
    seen: dict[str, None] = {}
    for error in errors:
        code = (error.extensions or {}).get("code") or "INTERNAL_SERVER_ERROR"
        seen.setdefault(str(code), None)
    return list(seen)


def exception_code(exc: BaseException) -> str:
    """The code of an exception that escaped the operation hooks: strawberry turns it into an HTTP 400 or an
    error result (shaped later by the HTTP view, so not yet shaped here)."""
    if isinstance(exc, HubError):
        return exc.code
    if isinstance(exc, GraphQLError) and (exc.original_error is None or isinstance(exc.original_error, HubError)):
        # e.g. a syntax error raised by ParserCache: shaped without logging (nothing unexpected in it)
        return str((shape_error(exc).extensions or {}).get("code", "INTERNAL_SERVER_ERROR"))
    mapped = from_db_error(exc.original_error if isinstance(exc, GraphQLError) and exc.original_error else exc)
    if mapped is not None:
        return mapped.code
    name = type(exc).__name__
    if name == "InvalidOperationTypeError":
        return "OPERATION_NOT_ALLOWED"
    if name in ("MissingQueryError", "CannotGetOperationTypeError"):
        return "BAD_USER_INPUT"
    return "INTERNAL_SERVER_ERROR"


_BACKGROUND: set[asyncio.Task] = set()


class AuditExtension(SchemaExtension):
    """Writes one audit entry per operation, after the result's errors were shaped.

    Placement: strawberry enters the ``on_operation`` hooks in list order and leaves them in REVERSE
    order (an exit stack), so this extension comes right after the operation span (``hub.api.telemetry``)
    in ``build_schema``'s list: its after-``yield`` part runs after ``ErrorCodes`` (last in the list)
    shaped the codes, and it also sees failures of every other extension's hooks. (It re-shapes
    defensively anyway: ``shape_error`` is idempotent.) The trace id is the operation span's, which is
    current while this extension runs, so the entry's ``audit`` span (the wait for its batch) is a span of
    the operation too.
    """

    def __init__(self, *, execution_context: Any = None):
        if execution_context is not None:
            self.execution_context = execution_context
        self._trace_id: str | None = None

    def _capture_trace(self) -> None:
        if self._trace_id is None:
            self._trace_id = current_ids()[0]

    def on_parse(self) -> Iterator[None]:
        self._capture_trace()
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        self._capture_trace()
        yield
        # A subscription whose stream was created (hub.api.ws_auth.watch_subscriptions) is audited now, when it starts
        # (outcome OK, with the datasets it reads), and again when it ends (on_operation): CANCELLED when the
        # client stops it, FORBIDDEN/UNAUTHENTICATED when its access ended. Fail closed: a subscription whose
        # start cannot be audited does not run (strawberry sends this error as its only result).
        if getattr(self.execution_context.context, "subscription_started", False):
            if not await self._write(self._entry(), result=None):
                raise ServiceUnavailable(UNAVAILABLE_MESSAGE)

    async def on_operation(self) -> AsyncIterator[None]:
        self._capture_trace()
        context = getattr(self.execution_context, "context", None)
        drafts = context is not None and hasattr(context, "audit_draft")
        if drafts:  # what a write keeps in the audit outbox (hub.governance.audit_outbox)
            context.audit_draft = self._entry
        try:
            try:
                yield
            except Exception as exc:  # escapes to strawberry (an HTTP 400 or an error result): audit, re-raise
                await self._write(self._entry(exception=exc), result=None)
                raise
            except BaseException:  # cancelled (client gone): write in the background, do not hold up the cancel
                task = asyncio.ensure_future(self._write(self._entry(exception=None, cancelled=True), result=None))
                _BACKGROUND.add(task)
                task.add_done_callback(_BACKGROUND.discard)
                raise
            result = self.execution_context.result
            if result is not None and getattr(result, "errors", None):
                result.errors = [shape_error(e) for e in result.errors]
            await self._write(self._entry(result=result), result=result)
        finally:
            if drafts:  # the bound method ties the context to this extension: no cycle left for the collector
                context.audit_draft = None

    def _entry(self, result: Any = None, exception: BaseException | None = None,
               cancelled: bool = False) -> AuditEntry:
        ec = self.execution_context
        ctx = ec.context
        query = ec.query
        try:
            operation_name = ec.operation_name
        except Exception:  # noqa: BLE001
            operation_name = None
        try:
            operation_type = ec.operation_type.value
        except Exception:  # noqa: BLE001 - no document (parse failure) or no such operation
            operation_type = "unknown"
        if exception is not None:
            codes = [exception_code(exception)]
        elif cancelled:
            codes = ["CANCELLED"]
        else:
            codes = error_codes(getattr(result, "errors", None) or ())
        self._capture_trace()
        return build_entry(
            operation_type if operation_type in ("query", "mutation", "subscription") else "unknown", operation_name,
            document_hash(query) if isinstance(query, str) else None, codes,
            getattr(ctx, "consumer", None), getattr(ctx, "access", None), self._trace_id)

    async def _write(self, entry: AuditEntry, result: Any) -> bool:
        """Append ``entry``; False (logged, and ``result`` loses its data) when it could not be written."""
        if getattr(self.execution_context.context, "audit_outbox", None):
            # Entries kept with its writes wait in the outbox: a cancel (the client gone, a socket operation stopped)
            # must not come between this entry, which the writer commits all the same, and their deletion (else the
            # drain writes them again).
            return await asyncio.shield(self._append(entry, result))
        return await self._append(entry, result)

    async def _append(self, entry: AuditEntry, result: Any) -> bool:
        db = getattr(self.execution_context.context, "db", None)
        try:
            if db is None:
                raise RuntimeError("the GraphQL context has no database (ctx.db)")
            await append(db, entry)  # the primary's writer (group commit), else one INSERT
        except Exception:  # noqa: BLE001 - any failure: fail closed below
            log.error("AUDIT LOG UNAVAILABLE: could not record operation %r (%s, outcome %s, consumer %s, "
                      "trace %s); its data is withheld", entry.operation_name, entry.operation_type,
                      entry.outcome, entry.consumer_id, entry.trace_id, exc_info=True)
            if result is not None:
                result.data = None
                result.errors = [*(result.errors or []), GraphQLError(
                    UNAVAILABLE_MESSAGE, extensions={"code": "SERVICE_UNAVAILABLE"})]
            return False
        outbox = getattr(self.execution_context.context, "audit_outbox", None)
        if outbox:  # the entries kept with its writes (hub.governance.audit_outbox) are in the log now
            await clear_outbox(db, outbox)
            outbox.clear()
        return True
