"""The graphql-transport-ws protocol handler: every operation on a socket authorised like an HTTP request.

strawberry's handler builds one context per connection and runs every operation with it.
``HubTransportWSHandler`` instead gives each operation a context of its own (``Context.for_operation``) built
from ``hub.api.ws_auth.operation_access``: the consumer looked up again by its token hash, its current grants (same
caches and window as HTTP) and one token of its rate limit. So each operation writes its own audit entry holding
only what it read. A query or mutation runs as over HTTP (``schema.execute``) and its result is sent once its audit entry is written
(withheld, as on HTTP, when it cannot be); a subscription streams, audited when it starts and when it ends.
A message that does not follow the protocol closes the socket with 4400 (``hub.api.ws_messages``). Each operation is
traced as a request is (a SERVER span ``WS /graphql``, ``hub.telemetry.observe.start_server_span``). Refusals:

* the token was revoked (or is unknown): the operation gets an ``error`` message (UNAUTHENTICATED) and the socket
  is closed with 4403;
* the rate limit: an ``error`` message with LIMIT_EXCEEDED ``rateLimit`` (HTTP's 429); the socket stays open;
* the database cannot answer the look-up: an ``error`` message with SERVICE_UNAVAILABLE; the socket stays open.

A socket that sends nothing is re-checked too: a task per connection looks the token up every
``hub.api.ws_auth.recheck_seconds`` and closes the socket (4403) once it is revoked. Running subscriptions are
re-checked by their own stream (``hub.api.ws_auth.watch_subscriptions``).

What a socket may hold (``hub.api.ws_limits``): at ``connection_init`` it takes one of its consumer's slots and is
closed with ``CLOSE_CODE`` (4429) when the consumer holds ``HUB_WS_MAX_SOCKETS_PER_CONSUMER`` already; ``shutdown``
(run however the socket ends) gives the slot back. A socket that sends no ``connection_init`` within
``HUB_WS_INIT_TIMEOUT_SECONDS`` is closed by strawberry (4408). Both refusals are logged and counted
(``hub_websockets_refused_total``).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any

from opentelemetry import context as otel_context
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    CompleteMessage,
    ConnectionInitMessage,
    Message,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.utils.aio import aclosing
from strawberry.utils.operation import get_operation_type

from graphql import GraphQLError, parse
from hub.api.errors import shape_error
from hub.api.ws_auth import (
    REVOKED_CLOSE_CODE,
    REVOKED_CLOSE_REASON,
    current_consumer,
    operation_access,
    recheck_seconds,
)
from hub.api.ws_limits import CLOSE_CODE as TOO_MANY_CLOSE_CODE, TooManySockets
from hub.api.ws_messages import problem
from hub.errors import BadUserInput, HubError, Unauthenticated
from hub.telemetry.metrics import metrics_of
from hub.telemetry.observe import start_server_span, with_client_address
from hub.telemetry.tracing import record_error, with_trace_id

log = logging.getLogger("hub.auth")


def _coded(error: HubError) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code, **error.extensions})


def _socket_attributes(scope: Any, operation: Operation) -> dict[str, Any]:
    return with_client_address(scope, {"url.path": scope["path"], "network.protocol.name": "websocket",
                                       "hub.websocket.operation_id": operation.id})


def _traced(result: ExecutionResult) -> ExecutionResult:
    """``result`` with ``extensions.traceId`` when the operation is traced, as an HTTP answer has it
    (``hub.api.view``)."""
    result.extensions = with_trace_id(result.extensions)
    return result


def _is_subscription(operation: Operation) -> bool:
    """Whether strawberry will run ``operation`` as a subscription: its own choice of the operation (without a
    name, the document's first), so that a query never reaches ``schema.stream`` nor a subscription ``execute``."""
    try:
        return get_operation_type(parse(operation.query), operation.operation_name) is OperationType.SUBSCRIPTION
    except GraphQLError:  # not a valid document: strawberry answers with the syntax error
        return False
    except RuntimeError:  # no such operation: strawberry says so (CannotGetOperationTypeError)
        return False


class HubTransportWSHandler(BaseGraphQLTransportWSHandler):
    _watchdog: asyncio.Task | None = None

    async def handle_message(self, message: Message) -> None:
        """A message that does not follow the protocol closes the socket with 4400 (``hub.api.ws_messages``)."""
        invalid = problem(message)
        if invalid is not None:
            await self.handle_invalid_message(invalid)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)  # HubGraphQL.on_ws_connect: the token, then a slot
        except TooManySockets as refused:
            log.warning("websocket refused: consumer %s holds %d open sockets (HUB_WS_MAX_SOCKETS_PER_CONSUMER)",
                        refused.consumer_id, refused.cap,
                        extra={"fields": {"code": TOO_MANY_CLOSE_CODE, "consumer_id": refused.consumer_id}})
            with suppress(Exception):  # already closed by the client
                await self.websocket.close(code=TOO_MANY_CLOSE_CODE, reason=refused.reason)
            return
        if self.connection_acknowledged and self._watchdog is None:
            self._watchdog = asyncio.create_task(self._watch_token())
            self._watchdog.add_done_callback(self._task_done)

    async def handle_connection_init_timeout(self) -> None:
        await super().handle_connection_init_timeout()
        if self.connection_timed_out:
            log.info("websocket closed: no connection_init within %g s (HUB_WS_INIT_TIMEOUT_SECONDS)",
                     self.connection_init_wait_timeout.total_seconds())
            metrics_of(self.context.request.app).websocket_refused("init_timeout")

    async def shutdown(self) -> None:
        """However the socket ends: its re-check task stops, its operations are cancelled, its slot is freed."""
        try:
            if self._watchdog is not None:
                self._watchdog.cancel()
                with suppress(asyncio.CancelledError):
                    await self._watchdog
            await super().shutdown()
        finally:
            slot = getattr(self.context, "socket_slot", None)
            if slot is not None:
                slot.release()

    async def _watch_token(self) -> None:
        """Close the socket (4403) once its token is revoked, even if it sends nothing."""
        state = self.context.request.app.state
        interval = recheck_seconds(self.context.settings.policy_cache_seconds)
        while True:
            await asyncio.sleep(interval)
            try:
                await current_consumer(state, self.context.token_hash)
            except Unauthenticated:
                await self._close_revoked()
                return
            except Exception:  # noqa: BLE001 - the database is unavailable: the next check decides
                log.warning("websocket token re-check failed", exc_info=True)

    async def _close_revoked(self) -> None:
        with suppress(Exception):  # already closed by the client
            await self.websocket.close(code=REVOKED_CLOSE_CODE, reason=REVOKED_CLOSE_REASON)

    async def run_operation(self, operation: Operation) -> None:
        """Each operation is a trace of its own, as an HTTP request is: a SERVER span ``WS /graphql`` (continuing a
        trace context the upgrade request carried) is current while it runs, so its operation span, statements and
        audit entry are traced and its ``next`` messages carry ``extensions.traceId`` as HTTP answers do."""
        request = self.context.request
        scope = request.scope
        span, token = start_server_span(request.app.state.telemetry.tracer, scope, f"WS {scope['path']}",
                                        lambda: _socket_attributes(scope, operation))
        try:
            await self._run_operation(operation)
        except BaseException as exc:
            record_error(span, exc)
            raise
        finally:
            if token is not None:
                otel_context.detach(token)
                span.end()

    async def _run_operation(self, operation: Operation) -> None:
        """Refusals first, as for an HTTP request: an untrusted document where only trusted ones may run
        (PERSISTED_QUERY_NOT_ALLOWED), admission (HUB_MAX_IN_FLIGHT / HUB_MAX_QUEUED: SERVICE_UNAVAILABLE), then
        the consumer, its grants and its rate limit. A query or mutation holds its admission slot until it has
        answered; a subscription until it is authorised (it may then wait for events for hours)."""
        view = self.view
        try:
            view.trusted.resolve(operation.query, None, view.settings.trusted_documents_only)
        except HubError as refused:
            await operation.send_initial_errors([_coded(refused)])
            return
        admission = self.context.request.app.state.admission
        if admission.max_in_flight > 0:
            limit = await admission.acquire()
            if limit is not None:
                reason = (f"the hub is overloaded: {admission.max_in_flight} requests in progress and "
                          f"{len(admission.waiters)} waiting; retry later")
                await operation.send_initial_errors([GraphQLError(reason, extensions={
                    "code": "SERVICE_UNAVAILABLE", "reason": "overloaded", "limit": limit})])
                return
            held = [True]

            def release() -> None:
                if held[0]:
                    held[0] = False
                    admission.release()
        else:
            def release() -> None:
                pass
        try:
            await self._authorised(operation, release)
        finally:
            release()

    async def _authorised(self, operation: Operation, release: Any) -> None:
        try:
            access = await operation_access(self.context)
        except HubError as refused:
            consumer_id = getattr(self.context.consumer, "id", None)
            log.info("websocket operation %s refused: %s %s", operation.id, refused.code, refused.message,
                     extra={"fields": {"code": refused.code, "consumer_id": consumer_id}})
            await operation.send_initial_errors([_coded(refused)])
            if isinstance(refused, Unauthenticated):
                await self._close_revoked()
            return
        except Exception as exc:  # noqa: BLE001 - unexpected: logged with a reference the client is given
            await operation.send_initial_errors([shape_error(GraphQLError(str(exc), original_error=exc))])
            return
        context = self.context.for_operation(access)
        if _is_subscription(operation):
            release()
            await self._subscribe(operation, context)
        else:
            await self._answer(operation, context)

    async def _answer(self, operation: Operation, context: Any) -> None:
        """A query or mutation runs as over HTTP (``schema.execute``), and its result is sent once the operation has
        ended: after its audit entry was written, or with its data withheld when it could not be
        (``hub.api.audit.AuditExtension``). strawberry's stream (its handler's way) sent the result while the
        operation's extensions were still running, before the entry was written: a read whose entry failed was
        delivered all the same."""
        try:
            result = await self.schema.execute(operation.query, variable_values=operation.variables,
                                               context_value=context, root_value=self.root_value,
                                               operation_name=operation.operation_name)
        except MissingQueryError:  # an empty document: HTTP's 400
            await operation.send_initial_errors([_coded(BadUserInput("No GraphQL query found in the request"))])
            return
        except CannotGetOperationTypeError as unknown:  # as strawberry's handler: the protocol's invalid message
            self.operations.pop(operation.id, None)
            await self.handle_invalid_message(unknown.as_http_error_reason())
            return
        except Exception as exc:  # noqa: BLE001 - unexpected: logged with a reference the client is given
            await operation.send_initial_errors([shape_error(GraphQLError(str(exc), original_error=exc))])
            return
        errors = [shape_error(e) for e in result.errors or ()]  # parse errors bypass the extensions (idempotent)
        if isinstance(result, PreExecutionError):  # not executed (parse, validation, a limit): an error message
            await operation.send_initial_errors(errors)
            return
        result.errors = errors or None
        await operation.send_next(_traced(result))
        await operation.send_operation_message(CompleteMessage(id=operation.id, type="complete"))

    async def _subscribe(self, operation: Operation, context: Any) -> None:
        """strawberry's ``run_operation`` (0.341.2) with the operation's own ``context`` instead of the
        connection's (strawberry has no hook for a per-operation context). A subscription is audited when its
        stream starts, before any event is sent (``hub.api.audit.AuditExtension.on_execute``), and when it ends."""
        try:
            result_source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=context,
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )
            async with aclosing(result_source):
                try:
                    await self._send_events(operation, result_source)
                except GraphQLError as refused:
                    # A document refused while it is parsed (over HUB_MAX_TOKENS or HUB_MAX_DEPTH):
                    # hub.api.limit_rules parses in an extension, whose error leaves strawberry's stream as an
                    # exception (HTTP turns it into a 400). The client is told why, as on HTTP; nothing to log.
                    await operation.send_initial_errors([shape_error(refused)])
                    return
            await operation.send_operation_message(CompleteMessage(id=operation.id, type="complete"))
        except _OperationStreamClosed:
            return
        except Exception as error:
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    async def _send_events(self, operation: Operation, result_source: Any) -> None:
        """strawberry's ``_send_result_stream``, except that a subscription refused before it executes (validation,
        variables, a limit) is told so once its stream has ended: strawberry sent the refusal and closed the stream
        where it stood, so the operation's audit entry said CANCELLED instead of the refusal's codes."""
        refused: PreExecutionError | None = None
        async for result in result_source:
            if isinstance(result, PreExecutionError):
                refused = result  # the stream's only result: it ends now, and its entry is written
                continue
            if not isinstance(result, ExecutionResult):
                await self._reject_incremental_delivery(operation)
                return
            await operation.send_next(_traced(result))
        if refused is not None:
            await self._handle_pre_execution_error(operation, refused)
