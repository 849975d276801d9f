"""The GraphQL layer's part of the telemetry: the operation span and (optionally) resolver spans.

``OperationSpan`` is the FIRST schema extension (``hub.api.schema``): its ``on_operation`` is entered first and
left last, so its span is current while every other extension runs — parsing, validation, execution, the
audit entry's write — and it sees the errors as finally shaped (``ErrorCodes``, the audit's own error).
It names the span ``query OperationName`` / ``mutation ...`` (``query`` for an anonymous query) with:

* ``graphql.operation.type``, ``graphql.operation.name``, ``graphql.document.hash`` (SHA-256 of the
  document text, as in the audit log; the text itself may hold literal values and is never recorded);
* ``hub.consumer.id``, ``hub.consumer.department``, ``hub.consumer.name``; ``hub.cost`` (``hub.api.document_limits``);
* ``hub.error_codes`` (the errors' ``extensions.code``, in order of first appearance).

It also counts ``hub_errors_total{code}`` and tells the HTTP middleware (``hub.telemetry.observe``) the operation's
name and codes for the access log and the request metrics. A path that answers an operation without
strawberry's executor (the compiled path, ``hub.api.compiled``) gets the same, through the same code, with
``operation_scope``; when it gives the operation up to the general path (``OperationOutcome.hand_over``) its span
is renamed and marked, and the general path's own operation span follows. ``ResolverSpans``
(``HUB_TRACE_RESOLVERS``) adds one span per field with a resolver of its own — useful to debug, costly,
off by default.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any, Callable, Iterator

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from strawberry.extensions import SchemaExtension

from hub.api.audit import error_codes, exception_code
from hub.api.trusted import document_hash
from hub.db.replicas import route_query
from hub.telemetry.tracing import record_error

SPAN_NAME_LENGTH = 256  # an operation span's name at most ("query <name>"): see _finish


def _operation(ec: Any) -> tuple[str | None, str | None]:
    """(type, name) of the operation; type None when the document could not be parsed."""
    try:
        operation_type = ec.operation_type.value
    except Exception:  # noqa: BLE001 - no document, or no such operation
        return None, None
    try:
        return operation_type, ec.operation_name
    except Exception:  # noqa: BLE001
        return operation_type, None


def _codes(ec: Any, error: BaseException | None) -> list[str]:
    if error is not None:
        return [exception_code(error)] if isinstance(error, Exception) else ["CANCELLED"]
    result = ec.result
    return error_codes(getattr(result, "errors", None) or ())


def _start(ctx: Any) -> tuple[Any, Any, Any]:
    """(telemetry, span, context token): a span only when the request's span records."""
    telemetry = getattr(getattr(ctx, "db", None), "telemetry", None)
    if telemetry is None or not trace.get_current_span().is_recording():
        return telemetry, None, None
    span = telemetry.tracer.start_span("graphql.operation")  # renamed once the type is known
    return telemetry, span, otel_context.attach(trace.set_span_in_context(span))


def _finish(ctx: Any, telemetry: Any, span: Any, token: Any, operation_type: str | None,
            operation_name: str | None, query: Any, codes: list[str], each_code: list[str],
            error: BaseException | None, outcome: "OperationOutcome | None" = None) -> None:
    """Error metrics, the HTTP middleware's request info, then the span's name and attributes (``outcome``: what
    an ``operation_scope`` caller adds — the document's hash if known, attributes, a hand-over)."""
    try:
        label = (f"{operation_type} {operation_name}" if operation_name else operation_type) if operation_type \
            else "graphql"
        handed_over = outcome is not None and outcome.handed_to is not None
        if not handed_over:  # else the path it was handed to counts and names the operation
            metrics = getattr(telemetry, "metrics", None)
            if metrics is not None:
                for code in each_code:
                    metrics.error(code)
            request = getattr(ctx, "request", None)
            info = request.scope.get("hub.request") if request is not None else None
            if info is not None:
                info.operations.append(label)
                info.codes.extend(codes)
        if span is None:
            return
        # a name the client chose may be as long as the body: the span's name keeps its start (its attribute
        # graphql.operation.name keeps hub.telemetry.tracing.ATTRIBUTE_LENGTH characters)
        span.update_name((outcome.handed_to if handed_over else label)[:SPAN_NAME_LENGTH])
        consumer = getattr(ctx, "consumer", None)
        attributes: dict[str, Any] = {"graphql.operation.type": operation_type or "unknown"}
        if operation_name:
            attributes["graphql.operation.name"] = operation_name
        if outcome is not None and outcome.digest is not None:
            attributes["graphql.document.hash"] = outcome.digest
        elif isinstance(query, str):
            attributes["graphql.document.hash"] = document_hash(query)
        if outcome is not None:
            attributes.update(outcome.attributes)
        if consumer is not None:
            attributes.update({"hub.consumer.id": consumer.id, "hub.consumer.department": consumer.department,
                               "hub.consumer.name": consumer.name})
        cost = getattr(ctx, "cost", None)
        if cost is not None:
            attributes["hub.cost"] = cost
        if codes:
            attributes["hub.error_codes"] = codes
        span.set_attributes(attributes)
        if error is not None:
            record_error(span, error)
        elif codes:
            span.set_status(Status(StatusCode.ERROR, ",".join(codes)))
    finally:
        if token is not None:
            otel_context.detach(token)
        if span is not None:
            span.end()


class OperationSpan(SchemaExtension):
    """One span per GraphQL operation (current while the operation runs), plus its error metrics."""

    def on_operation(self) -> Iterator[None]:
        ec = self.execution_context
        ctx = ec.context
        telemetry, span, token = _start(ctx)
        error: BaseException | None = None
        try:
            yield
        except BaseException as exc:
            error = exc
            raise
        finally:
            operation_type, operation_name = _operation(ec)
            codes = _codes(ec, error)
            errors = getattr(ec.result, "errors", None) if error is None else None
            each = [str((e.extensions or {}).get("code") or "INTERNAL_SERVER_ERROR") for e in errors] if errors \
                else codes
            _finish(ctx, telemetry, span, token, operation_type, operation_name, ec.query, codes, each, error)


class OperationOutcome:
    """What a caller of ``operation_scope`` reports: the errors' codes (none: a success), or that it handed the
    operation over to another path (``hand_over``)."""

    def __init__(self, digest: str | None = None, attributes: dict[str, Any] | None = None) -> None:
        self.codes: list[str] = []
        self.digest = digest  # the document's SHA-256 hex when the caller has it (else hashed from the text)
        self.attributes: dict[str, Any] = dict(attributes or {})  # added to the span's
        self.handed_to: str | None = None

    def hand_over(self, span_name: str, attributes: dict[str, Any]) -> None:
        """Another path answers the operation, with its own operation span, error metrics and access-log
        operation: this span is renamed ``span_name`` and gets ``attributes``; nothing is counted here."""
        self.handed_to = span_name
        self.attributes.update(attributes)


@contextlib.contextmanager
def operation_scope(ctx: Any, operation_type: str = "query", operation_name: str | None = None,
                    query: str | None = None, route_reads: bool = True, *, digest: str | None = None,
                    attributes: dict[str, Any] | None = None) -> Iterator[OperationOutcome]:
    """The operation span, error metrics and access-log operation of a GraphQL operation answered without
    strawberry's executor (the compiled path), as ``OperationSpan`` writes them. With ``route_reads``, a ``query``
    reads where ``hub.db.replicas.ReadRouting`` would send it (``ctx.db`` is restored to the primary afterwards).
    ``digest``: the document's hash when the caller has it (``query`` is hashed otherwise); ``attributes``: the
    span's own (e.g. ``hub.compiled``).

    ``with operation_scope(ctx, "query", name, text) as outcome: ...`` (set ``outcome.codes`` on errors).
    """
    telemetry, span, token = _start(ctx)
    db = getattr(ctx, "db", None)
    if route_reads and operation_type == "query":
        route_query(ctx)
    outcome = OperationOutcome(digest, attributes)
    error: BaseException | None = None
    try:
        yield outcome
    except BaseException as exc:
        error = exc
        raise
    finally:
        if db is not None:
            ctx.db = db.primary
        codes = [exception_code(error)] if isinstance(error, Exception) else (
            ["CANCELLED"] if error is not None else list(dict.fromkeys(outcome.codes)))
        each = codes if error is not None else outcome.codes
        _finish(ctx, telemetry, span, token, operation_type, operation_name, query, codes, each, error, outcome)


_TRACED: dict[tuple[str, str], bool] = {}


def _has_resolver(info: Any) -> bool:
    """Fields with a resolver of their own (not plain attributes, not introspection)."""
    key = (info.parent_type.name, info.field_name)
    traced = _TRACED.get(key)
    if traced is None:
        field = info.parent_type.fields.get(info.field_name)
        definition = (getattr(field, "extensions", None) or {}).get("strawberry-definition")
        traced = _TRACED[key] = (not info.parent_type.name.startswith("__") and definition is not None
                                 and getattr(definition, "base_resolver", None) is not None)
    return traced


class ResolverSpans(SchemaExtension):
    """One span per resolved field with a resolver (``HUB_TRACE_RESOLVERS=true``), current while it runs."""

    def resolve(self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        if not _has_resolver(info) or not trace.get_current_span().is_recording():
            return _next(root, info, *args, **kwargs)
        telemetry = getattr(getattr(info.context, "db", None), "telemetry", None)
        if telemetry is None:
            return _next(root, info, *args, **kwargs)
        span = telemetry.tracer.start_span(f"resolve {info.parent_type.name}.{info.field_name}", attributes={
            "graphql.field.name": info.field_name, "graphql.field.parent_type": info.parent_type.name,
            "graphql.field.path": ".".join(str(p) for p in info.path.as_list())})
        span_context = trace.set_span_in_context(span)
        token = otel_context.attach(span_context)
        try:
            result = _next(root, info, *args, **kwargs)
        except BaseException as exc:
            record_error(span, exc)
            span.end()
            raise
        finally:
            otel_context.detach(token)
        if not inspect.isawaitable(result):
            span.end()
            return result

        async def finish() -> Any:
            inner = otel_context.attach(span_context)
            try:
                return await result
            except BaseException as exc:
                record_error(span, exc)
                raise
            finally:
                otel_context.detach(inner)
                span.end()

        return finish()
