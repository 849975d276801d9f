"""The outermost middleware: the HTTP server span, the ``traceresponse`` header, request metrics and the
JSON access line (pure ASGI; see ``hub.app`` for its place, before body-size, authentication and rate
limit, so 401/413/429 answers are traced, counted and logged too).

A caller's W3C ``traceparent`` (and ``tracestate``/``baggage``, per ``OTEL_PROPAGATORS``) continues its
trace. Every HTTP response carries ``traceresponse: 00-<trace id>-<server span id>-<flags>``; GraphQL
responses also carry ``extensions.traceId`` (``hub.api.view``).

Measured against opentelemetry-instrumentation-asgi's ``OpenTelemetryMiddleware`` (``make bench-tracing``
prints both): that one opens two more spans per request ("http receive"/"http send") and re-parses
headers for attributes, so the hub uses its own span with the stable HTTP semantic-convention attributes.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Iterable

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.telemetry.logs import access_line
from hub.telemetry.tracing import Telemetry, current_span, record_error, traceresponse

access_log = logging.getLogger("hub.access")

# Codes of answers refused before any GraphQL operation ran (HTTP status -> extensions.code).
STATUS_CODES = {400: "BAD_USER_INPUT", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                405: "BAD_USER_INPUT", 413: "LIMIT_EXCEEDED", 429: "LIMIT_EXCEEDED",
                500: "INTERNAL_SERVER_ERROR", 503: "SERVICE_UNAVAILABLE"}
DENIAL = frozenset({"UNAUTHENTICATED", "FORBIDDEN"})


class RequestInfo:
    """What the inner layers tell the middleware about a request (``scope["hub.request"]``)."""

    __slots__ = ("operations", "codes")

    def __init__(self) -> None:
        self.operations: list[str] = []  # GraphQL operation labels ("query Occupations")
        self.codes: list[str] = []  # their errors' codes


class _HeaderGetter:
    """Reads ASGI headers (a list of byte pairs) for the propagator."""

    def get(self, carrier: Iterable[tuple[bytes, bytes]], key: str) -> list[str] | None:
        wanted = key.lower().encode("latin-1")
        found = [v.decode("latin-1") for k, v in carrier if k == wanted]
        return found or None

    def keys(self, carrier: Iterable[tuple[bytes, bytes]]) -> list[str]:
        return [k.decode("latin-1") for k, _ in carrier]


_GETTER = _HeaderGetter()
_CONTEXT_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage", b"b3", b"x-b3-traceid", b"uber-trace-id"})


def outcome_of(status: int, codes: list[str]) -> str:
    """``denied`` (a denial code), ``error`` (another code, or a 5xx), ``limited`` (only LIMIT_EXCEEDED),
    else ``ok``."""
    if not codes:  # most requests: no generator built
        return "error" if status >= 500 else "ok"
    if any(c in DENIAL for c in codes):
        return "denied"
    if any(c != "LIMIT_EXCEEDED" for c in codes) or status >= 500:
        return "error"
    return "limited" if codes else "ok"


def with_client_address(scope: Scope, attributes: dict[str, Any]) -> dict[str, Any]:
    """``attributes`` plus ``client.address`` when the server knows the peer (a request's or a websocket's)."""
    client = scope.get("client")
    if client:
        attributes["client.address"] = client[0]
    return attributes


def start_server_span(tracer: Any, scope: Scope, name: str, attributes: Any) -> tuple[Any, Any]:
    """The SERVER span of a request (``TelemetryMiddleware``) or of one operation on a websocket
    (``hub.api.ws_handler``), made current: (span, context token; None when nothing was attached). It continues the
    caller's W3C trace context from ``scope``'s headers (a websocket's: its upgrade request's). ``attributes``: a
    callable giving the span's attributes, called only when a span is started."""
    headers = scope["headers"]
    # Most requests carry no trace context: skip the propagators' parsing then (a plain loop: no generator).
    parent = None
    for header, _ in headers:
        if header in _CONTEXT_HEADERS:
            parent = propagate.extract(headers, getter=_GETTER)
            break
    if parent is None and type(tracer) is trace.NoOpTracer and current_span() is trace.INVALID_SPAN:
        # OTEL_SDK_DISABLED=true: the SDK hands out the API's NoOpTracer, whose span here is the current one,
        # INVALID_SPAN (no ids), already current: nothing to start, attach or describe
        return trace.INVALID_SPAN, None
    span = tracer.start_span(name, context=parent, kind=SpanKind.SERVER, attributes=attributes())
    return span, otel_context.attach(trace.set_span_in_context(span, parent))


class TelemetryMiddleware:
    """Server span + ``traceresponse`` + request metrics + access line, for every HTTP request."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry, access_log: bool = True,
                 routes: Iterable[str] = (), server_span: bool = True):
        self.app = app
        self.telemetry = telemetry
        self.tracer = telemetry.tracer
        self.metrics = telemetry.metrics
        self.access_log = access_log
        self.routes = frozenset(routes)
        self.server_span = server_span  # False: an outer instrumentation (e.g. the bench's) opened it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        route = path if path in self.routes else None
        if self.server_span:
            span, token = start_server_span(self.tracer, scope, f"{method} {route}" if route else method,
                                            lambda: self._request_attributes(scope, route))
        else:
            span, token = trace.get_current_span(), None
            if span.is_recording():
                span.set_attributes(self._request_attributes(scope, route))
        info = scope["hub.request"] = RequestInfo()
        header = traceresponse(span)
        status = 500

        async def send_traced(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if header is not None:
                    message = {**message, "headers": [*(message.get("headers") or ()), (b"traceresponse", header)]}
            await send(message)

        try:
            await self.app(scope, receive, send_traced)
        except BaseException as exc:
            record_error(span, exc)
            status = 500
            raise
        finally:
            try:
                self._finish(scope, span, info, method, path, status, time.perf_counter() - started)
            finally:
                if token is not None:
                    otel_context.detach(token)
                    span.end()

    @staticmethod
    def _request_attributes(scope: Scope, route: str | None) -> dict[str, Any]:
        """The stable HTTP server attributes worth their cost (each attribute is paid on every request)."""
        attributes: dict[str, Any] = {"http.request.method": scope["method"], "url.path": scope["path"]}
        if route:
            attributes["http.route"] = route
        return with_client_address(scope, attributes)

    def _finish(self, scope: Scope, span: Any, info: RequestInfo, method: str, path: str, status: int,
                seconds: float) -> None:
        matched = scope.get("route")
        route = getattr(matched, "path", None) or (path if path in self.routes else None)
        codes = info.codes
        if not info.operations and status >= 400:
            code = STATUS_CODES.get(status, "INTERNAL_SERVER_ERROR" if status >= 500 else "BAD_USER_INPUT")
            codes = [code]
            if self.metrics is not None:
                self.metrics.error(code)
        outcome = outcome_of(status, codes)
        operation = " ".join(info.operations) if info.operations else (route or "other")
        if self.metrics is not None:
            self.metrics.request(operation, outcome, seconds)
        if span.is_recording():
            span.set_attribute("http.response.status_code", status)
            if route:
                span.set_attribute("http.route", route)
                if self.server_span:
                    span.update_name(f"{method} {route}")
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
        if self.access_log and access_log.isEnabledFor(logging.INFO):
            ctx = span.get_span_context()
            consumer = scope.get("hub.consumer")
            fields = {
                "method": method, "path": path, "status": status, "duration_ms": round(seconds * 1000, 3),
                "operation": operation, "outcome": outcome,
                "consumer": getattr(consumer, "name", None), "consumer_id": getattr(consumer, "id", None),
                "department": getattr(consumer, "department", None),
                "trace_id": format(ctx.trace_id, "032x") if ctx.is_valid else None,
                "span_id": format(ctx.span_id, "016x") if ctx.is_valid else None,
            }
            if codes:
                fields["error_codes"] = codes
            access_line(f"{method} {path} {operation} {status} {seconds * 1000:.1f}ms", fields)
