"""Tracing: the tracer provider (from the standard ``OTEL_*`` variables) and the hub's span helpers.

One trace per request (and per operation on a websocket: ``WS /graphql``, ``hub.api.ws_handler``), with this tree
(no span per field unless ``HUB_TRACE_RESOLVERS`` is on)::

    POST /graphql                    SERVER    hub.telemetry.observe.TelemetryMiddleware (outermost middleware)
    ├── hub/consumer_by_token_hash   CLIENT    SQL of authentication / policy, before the operation
    └── query OperationName          INTERNAL  hub.api.telemetry.OperationSpan (strawberry extension)
        ├── labor/occupations_page   CLIENT    SQL of a root field
        ├── dataloader PostingsByOccupationLoader    one span per DataLoader batch (hub.api.loaders)
        │   └── labor/postings_by_occupation         SQL of that batch
        └── audit                    INTERNAL  waiting for the audit entry's batch (hub.governance.audit_writer)
            └── hub/audit_append CLIENT   the batch's one call (under the first waiter; the others link to it)

SQL spans are named after the statement (``<dept>/<file>``, the registry's name, never the file's header
comment): low-cardinality like OTel's ``{db.operation.name} {target}`` but exact. Attributes:
``db.system`` (postgresql), ``db.statement`` (the registry's SQL, which has only ``$n`` parameters, never
literal values), ``db.response.returned_rows`` and, off the primary, ``hub.db.pool`` (``replica-1``, a
department's own database).

Cost when nothing is exported: the provider then samples nothing (``ALWAYS_OFF``) but still hands out
trace ids, so logs, audit entries and the ``traceresponse`` header carry one; children of a span that does
not record are not created at all (``recording()``), so the DataLoader and SQL paths cost one check.

Cost when spans are exported: the hub's tracer is a ``HubTracer`` (``hub.telemetry.span_path``), which starts and
ends the SDK's own spans on a shorter path (same data, sampler, limits and processors), and ``hub.telemetry.otlp_batch`` encodes
each span to OTLP bytes as it ends. ``make bench-tracing`` measures the whole.
"""

from __future__ import annotations

import contextvars
import logging
import os
from typing import Any, Awaitable, Callable, Mapping, Sequence
from urllib.parse import unquote

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider, sampling
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, Status, StatusCode

from hub import __version__

# HubSpan, HubTracer, LocalParentFastPath are re-exported (tests and callers import them from here)
from hub.telemetry.span_path import HubSpan, HubTracer, LocalParentFastPath, current_span, hub_tracer  # noqa: F401

log = logging.getLogger("hub.tracing")

SERVICE_NAME = "talent-data-hub"
SCOPE = "hub"
_TRUE = ("1", "true", "yes", "on")

# The OTEL_* variables the hub reads (tests/cli/test_deploy.py keeps deploy/ within them).
OTEL_VARIABLES = frozenset({
    "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_PROPAGATORS", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
})

# Rows fetched by the SQL statements of the DataLoader batch running in this context (hub.api.loaders).
BATCH_ROWS: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("hub_batch_rows", default=None)


# --- the provider --------------------------------------------------------------------------------

def exporters_from_env(env: Mapping[str, str]) -> list[str]:
    """Which span exporters the ``OTEL_*`` variables ask for: ``otlp`` (OTLP/HTTP), ``console`` or none.

    ``OTEL_TRACES_EXPORTER`` decides when set (``none`` = nothing). Unset, OTLP is used only when an
    endpoint is configured (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``):
    unlike the SDK's default, an unconfigured hub never tries localhost:4318 and never logs about it.
    ``OTEL_SDK_DISABLED=true`` turns everything off.
    """
    if (env.get("OTEL_SDK_DISABLED") or "").strip().lower() in _TRUE:
        return []
    raw = (env.get("OTEL_TRACES_EXPORTER") or "").strip().lower()
    if not raw:
        has_endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        return ["otlp"] if has_endpoint else []
    names = [n.strip() for n in raw.split(",") if n.strip() and n.strip() != "none"]
    unknown = [n for n in names if n not in ("otlp", "console")]
    if unknown:
        log.warning("OTEL_TRACES_EXPORTER: unsupported exporter(s) %s ignored (the hub supports otlp, console)",
                    ", ".join(unknown))
    return [n for n in names if n in ("otlp", "console")]


def _headers(raw: str | None) -> dict[str, str]:
    """``OTEL_EXPORTER_OTLP_HEADERS``: ``key=value`` pairs separated by commas, values URL-encoded."""
    headers: dict[str, str] = {}
    for item in (raw or "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            headers[unquote(key.strip()).lower()] = unquote(value.strip())
    return headers


def otlp_exporter(env: Mapping[str, str]) -> Any:
    """An OTLP/HTTP (protobuf) span exporter configured from ``env`` (not from ``os.environ``): the SDK's
    ``OTLPSpanExporter`` with the hub's faster encoder (``hub.telemetry.otlp``)."""
    # deferred import: start-up time (the OTLP exporter, protobuf and requests: ~35 ms, only when traces are exported)
    from opentelemetry.exporter.otlp.proto.http import Compression

    from hub.telemetry.otlp import HubOTLPSpanExporter

    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol and protocol != "http/protobuf":
        log.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported; the hub exports OTLP over HTTP/protobuf",
                    protocol)
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if not endpoint:
        base = (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "http://localhost:4318").rstrip("/")
        endpoint = f"{base}/v1/traces"
    timeout = env.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or env.get("OTEL_EXPORTER_OTLP_TIMEOUT")
    compression = (env.get("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION") or env.get("OTEL_EXPORTER_OTLP_COMPRESSION")
                   or "none").lower()
    return HubOTLPSpanExporter(
        endpoint=endpoint,
        headers=_headers(env.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or env.get("OTEL_EXPORTER_OTLP_HEADERS")),
        timeout=float(timeout) / 1000 if timeout else None,  # OTEL_* timeouts are milliseconds
        compression=Compression.Gzip if compression == "gzip" else Compression.NoCompression,
    )


def _resource(env: Mapping[str, str], environment: str | None) -> Resource:
    """The service's resource: ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME`` from ``env`` (they win
    over the hub's defaults: service name ``talent-data-hub``, its version, ``deployment.environment.name``)."""
    attributes: dict[str, Any] = {"service.name": SERVICE_NAME, "service.version": __version__}
    if environment:
        attributes["deployment.environment.name"] = environment
    for item in (env.get("OTEL_RESOURCE_ATTRIBUTES") or "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            attributes[unquote(key.strip())] = unquote(value.strip())
    if env.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = env["OTEL_SERVICE_NAME"]
    return Resource.create(attributes)  # adds the SDK's telemetry.sdk.* attributes


def sampler_from_env(env: Mapping[str, str]) -> Any:
    """``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` (default ``parentbased_always_on``)."""
    name = (env.get("OTEL_TRACES_SAMPLER") or "parentbased_always_on").strip().lower()
    try:
        ratio = float(env.get("OTEL_TRACES_SAMPLER_ARG") or 1.0)
    except ValueError:
        ratio = 1.0
    ratio = min(max(ratio, 0.0), 1.0)
    samplers = {
        "always_on": lambda: sampling.ALWAYS_ON, "always_off": lambda: sampling.ALWAYS_OFF,
        "traceidratio": lambda: sampling.TraceIdRatioBased(ratio),
        "parentbased_always_on": lambda: sampling.ParentBased(sampling.ALWAYS_ON),
        "parentbased_always_off": lambda: sampling.ParentBased(sampling.ALWAYS_OFF),
        "parentbased_traceidratio": lambda: sampling.ParentBased(sampling.TraceIdRatioBased(ratio)),
    }
    if name not in samplers:
        log.warning("OTEL_TRACES_SAMPLER=%s is not supported; using parentbased_always_on", name)
        name = "parentbased_always_on"
    sampler = samplers[name]()
    return sampler if name == "always_off" else LocalParentFastPath(sampler)


# The longest text an exported span attribute keeps unless OTEL_(SPAN_)ATTRIBUTE_VALUE_LENGTH_LIMIT says otherwise
# (the SDK's default is no limit). Some values come from the client: an operation's name, a socket operation's id,
# up to the request body's limit (1 MB); one such span could exceed a collector's message limit and be dropped with
# the other consumers' spans of its batch.
ATTRIBUTE_LENGTH = 4096


def span_limits(env: Mapping[str, str]) -> SpanLimits:
    """The SDK's span limits, with ``ATTRIBUTE_LENGTH`` for attribute texts unless a standard variable sets one
    (``OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`` before ``OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT``, as the SDK ranks them);
    the other limits from the variables as the SDK reads them."""
    chosen = ATTRIBUTE_LENGTH
    for name in ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT"):  # the later wins
        raw = (env.get(name) or "").strip()
        if raw.isdigit():
            chosen = int(raw)
    return SpanLimits(max_attribute_length=chosen, max_span_attribute_length=chosen)


def provider_from_env(env: Mapping[str, str] | None = None, environment: str | None = None) -> TracerProvider:
    """The process's tracer provider as the ``OTEL_*`` variables describe it.

    With an exporter: the SDK's sampler (``OTEL_TRACES_SAMPLER``, default parent-based always-on) and a
    batch processor (``OTEL_BSP_*``; ``hub.telemetry.otlp_batch`` for OTLP). Without: ``ALWAYS_OFF`` — nothing recorded or exported, but
    trace ids are still generated (or continued from the caller's ``traceparent``) for logs and audit.
    """
    env = os.environ if env is None else env
    exporters = exporters_from_env(env)
    resource = _resource(env, environment)
    if not exporters:
        return TracerProvider(sampler=ALWAYS_OFF, resource=resource)
    provider = TracerProvider(sampler=sampler_from_env(env), resource=resource, span_limits=span_limits(env))

    def number(name: str) -> int | None:
        raw = env.get(name)
        return int(raw) if raw and raw.isdigit() else None

    for name in exporters:
        batching = {"max_queue_size": number("OTEL_BSP_MAX_QUEUE_SIZE"),
                    "schedule_delay_millis": number("OTEL_BSP_SCHEDULE_DELAY"),
                    "max_export_batch_size": number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
                    "export_timeout_millis": number("OTEL_BSP_EXPORT_TIMEOUT")}
        if name == "otlp":
            # deferred import: start-up time (the OTLP exporter, only when traces are exported)
            from hub.telemetry.otlp_batch import EncodedBatchSpanProcessor

            provider.add_span_processor(EncodedBatchSpanProcessor(otlp_exporter(env), **batching))
        else:
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(), **batching))
    return provider


# --- helpers -------------------------------------------------------------------------------------

def recording() -> bool:
    """True when the current span records: only then are child spans worth creating."""
    return current_span().is_recording()


def current_ids() -> tuple[str | None, str | None]:
    """The current trace id and span id as lowercase hex, or (None, None)."""
    ctx = current_span().get_span_context()
    if not ctx.is_valid:
        return None, None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def with_trace_id(extensions: dict[str, Any] | None) -> dict[str, Any] | None:
    """A GraphQL answer's ``extensions`` with ``traceId``, the current trace's id, when there is one (else as given):
    the one rule for HTTP answers (both paths) and websocket ``next`` messages."""
    trace_id, _ = current_ids()
    return extensions if trace_id is None else {**(extensions or {}), "traceId": trace_id}


def traceresponse(span: trace.Span) -> bytes | None:
    """The W3C ``traceresponse`` header value for ``span``: ``00-<trace id>-<span id>-<flags>``."""
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags) & 0xFF:02x}".encode()


def record_error(span: trace.Span, exc: BaseException) -> None:
    if span.is_recording():
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


class Telemetry:
    """The app's observability handles: its tracer (from the provider passed to ``create_app``, or the one
    ``OTEL_*`` describes), its metrics (``hub.telemetry.metrics.HubMetrics``) and the statement/batch helpers.

    Never the global tracer provider: tests build several apps, each with its own provider.
    """

    def __init__(self, provider: TracerProvider | None = None, metrics: Any = None, resolver_spans: bool = False,
                 owns_provider: bool = False):
        self.provider = provider if provider is not None else TracerProvider(sampler=ALWAYS_OFF)
        self.tracer = hub_tracer(self.provider, SCOPE, __version__)
        self._hub_tracer = self.tracer if isinstance(self.tracer, HubTracer) else None
        self.metrics = metrics
        self.resolver_spans = resolver_spans
        self.owns_provider = owns_provider
        self._sql_attributes: dict[tuple[str, str], dict[str, Any]] = {}

    def flush(self) -> None:
        """Export what is pending (end of the app's lifespan). The provider itself shuts down at exit."""
        self.provider.force_flush()

    def _child(self, parent: Any, name: str, kind: SpanKind, attributes: Any) -> trace.Span:
        """A span under ``parent``, the current span (recording)."""
        if self._hub_tracer is not None:
            return self._hub_tracer.start_child(parent, name, kind, attributes)
        return self.tracer.start_span(name, kind=kind, attributes=attributes)

    # -- SQL statements (hub.db.pools.Department) --------------------------------------------------------

    def statement_span(self, name: str, sql: str, department: str, pool: str) -> trace.Span | None:
        """A CLIENT span for one statement, or None when the current span does not record."""
        parent = current_span()
        if not parent.is_recording():
            return None
        key = (name, pool)
        attributes = self._sql_attributes.get(key)
        # the variants of a generated statement share their name (``SqlRegistry.label``): each span names its own text
        if attributes is None or attributes["db.statement"] != sql:
            # Few attributes on purpose: each one costs on every span (creation and OTLP encoding). The
            # department is the name's prefix, the operation the statement's first word; the pool is named
            # only when it is not the primary.
            attributes = {"db.system": "postgresql", "db.statement": sql}
            if pool != "primary":
                attributes["hub.db.pool"] = pool
            self._sql_attributes[key] = attributes
        return self._child(parent, name, SpanKind.CLIENT, attributes)

    def statement_done(self, name: str, span: trace.Span | None, seconds: float, rows: int | None,
                       error: BaseException | None = None) -> None:
        if self.metrics is not None:
            self.metrics.statement(name, seconds, error is not None)
        if span is None:
            return
        if error is not None:
            record_error(span, error)
        elif rows is not None:
            span.set_attribute("db.response.returned_rows", rows)
        span.end()

    # -- DataLoader batches (hub.api.loaders.SqlLoader) ------------------------------------------------

    async def loader_batch(self, loader_name: str, keys: Sequence[Any],
                           batch: Callable[[Sequence[Any]], Awaitable[list[Any]]]) -> list[Any]:
        """Run one DataLoader batch: batch-size metric, and a span (current while the batch's SQL runs)
        with the loader's name, its key count and the rows its statements returned."""
        if self.metrics is not None:
            self.metrics.loader_batch(loader_name, len(keys))
        parent = current_span()
        if not parent.is_recording():
            return await batch(keys)
        span = self._child(parent, f"dataloader {loader_name}", SpanKind.INTERNAL,
                           {"hub.loader.name": loader_name, "hub.loader.keys": len(keys)})
        rows = [0]
        rows_token = BATCH_ROWS.set(rows)
        ctx_token = otel_context.attach(trace.set_span_in_context(span))
        try:
            return await batch(keys)
        except BaseException as exc:
            record_error(span, exc)
            raise
        finally:
            otel_context.detach(ctx_token)
            BATCH_ROWS.reset(rows_token)
            span.set_attribute("hub.loader.rows", rows[0])
            span.end()


def count_batch_rows(n: int) -> None:
    """Add ``n`` rows to the DataLoader batch running in this context (if any)."""
    rows = BATCH_ROWS.get()
    if rows is not None:
        rows[0] += n
