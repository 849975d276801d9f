"""Tracing: the tracer provider (from the standard ``OTEL_*`` variables) and the hub's span helpers.

One trace per request, with this tree (no span per field unless ``HUB_TRACE_RESOLVERS`` is on)::

    POST /graphql                    SERVER    hub.observe.TelemetryMiddleware (outermost middleware)
    ├── hub/consumer_by_token_hash   CLIENT    SQL of authentication / policy, before the operation
    └── query OperationName          INTERNAL  hub.graphql_telemetry.OperationSpan (strawberry extension)
        ├── labor/occupations_page   CLIENT    SQL of a root field
        ├── dataloader PostingsByOccupationLoader    one span per DataLoader batch (hub.loaders)
        │   └── labor/postings_by_occupation         SQL of that batch
        └── audit                    INTERNAL  waiting for the audit entry's batch (hub.audit_writer)
            └── hub/audit_insert_many CLIENT   the batch INSERT (under the first waiter; the others link to it)

SQL spans are named after the statement (``<dept>/<file>``, the registry's name, never the file's header
comment): low-cardinality like OTel's ``{db.operation.name} {target}`` but exact. Attributes:
``db.system`` (postgresql), ``db.statement`` (the registry's SQL, which has only ``$n`` parameters, never
literal values), ``db.response.returned_rows`` and, off the primary, ``hub.db.pool`` (``replica-1``, a
department's own database).

Cost when nothing is exported: the provider then samples nothing (``ALWAYS_OFF``) but still hands out
trace ids, so logs, audit entries and the ``traceresponse`` header carry one; children of a span that does
not record are not created at all (``recording()``), so the DataLoader and SQL paths cost one check.

Cost when spans are exported: the hub's tracer is a ``HubTracer`` (below), which starts and ends the SDK's
own spans on a shorter path (same data, sampler, limits and processors), and ``hub.otlp_batch`` encodes
each span to OTLP bytes as it ends. ``make bench-tracing`` measures the whole.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import random
import threading
import time
from typing import Any, Awaitable, Callable, Iterator, Mapping, Sequence
from urllib.parse import unquote

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.sdk.trace import SpanProcessor, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Decision, Sampler, SamplingResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

try:  # the SDK's own span metrics (OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED): HubTracer leaves those to it
    from opentelemetry.sdk.trace._tracer_metrics import NoOpTracerMetrics
except ImportError:  # pragma: no cover - an SDK without them
    NoOpTracerMetrics = None

log = logging.getLogger("hub.tracing")

SERVICE_NAME = "talent-data-hub"
SCOPE = "hub"
_TRUE = ("1", "true", "yes", "on")

# The OTEL_* variables the hub reads (tests/test_deploy.py keeps deploy/ within them).
OTEL_VARIABLES = frozenset({
    "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_PROPAGATORS", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_EXPORT_TIMEOUT",
})

# Rows fetched by the SQL statements of the DataLoader batch running in this context (hub.loaders).
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
    ``OTLPSpanExporter`` with the hub's faster encoder (``hub.otlp``)."""
    from opentelemetry.exporter.otlp.proto.http import Compression

    from hub.otlp import HubOTLPSpanExporter

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
    from hub import __version__

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


class LocalParentFastPath(Sampler):
    """Any standard sampler, answering without it for a child of a sampled LOCAL span.

    Every standard sampler keeps a sampled local parent's children (the parent-based ones by rule; always_on
    trivially; traceidratio because its decision depends on the trace id alone, which the child shares), so
    the answer needs no call into the wrapped sampler: the hub's loader and SQL spans are such children.
    """

    def __init__(self, sampler: Sampler):
        self.sampler = sampler

    def should_sample(self, parent_context: Any, trace_id: int, name: str, kind: Any = None,
                      attributes: Any = None, links: Any = None, trace_state: Any = None) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if parent.is_valid and not parent.is_remote and parent.trace_flags.sampled:
            # The span starts with the sampling result's attributes: hand the caller's through.
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent.trace_state)
        return self.sampler.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return self.sampler.get_description()


def sampler_from_env(env: Mapping[str, str]) -> Any:
    """``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` (default ``parentbased_always_on``)."""
    from opentelemetry.sdk.trace import sampling

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


def provider_from_env(env: Mapping[str, str] | None = None, environment: str | None = None) -> TracerProvider:
    """The process's tracer provider as the ``OTEL_*`` variables describe it.

    With an exporter: the SDK's sampler (``OTEL_TRACES_SAMPLER``, default parent-based always-on) and a
    batch processor (``OTEL_BSP_*``; ``hub.otlp_batch`` for OTLP). Without: ``ALWAYS_OFF`` — nothing recorded or exported, but
    trace ids are still generated (or continued from the caller's ``traceparent``) for logs and audit.
    """
    env = os.environ if env is None else env
    exporters = exporters_from_env(env)
    resource = _resource(env, environment)
    if not exporters:
        return TracerProvider(sampler=ALWAYS_OFF, resource=resource)
    provider = TracerProvider(sampler=sampler_from_env(env), resource=resource)

    def number(name: str) -> int | None:
        raw = env.get(name)
        return int(raw) if raw and raw.isdigit() else None

    for name in exporters:
        batching = {"max_queue_size": number("OTEL_BSP_MAX_QUEUE_SIZE"),
                    "schedule_delay_millis": number("OTEL_BSP_SCHEDULE_DELAY"),
                    "max_export_batch_size": number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
                    "export_timeout_millis": number("OTEL_BSP_EXPORT_TIMEOUT")}
        if name == "otlp":
            from hub.otlp_batch import EncodedBatchSpanProcessor

            provider.add_span_processor(EncodedBatchSpanProcessor(otlp_exporter(env), **batching))
        else:
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(), **batching))
    return provider


# --- the span path -------------------------------------------------------------------------------
#
# The SDK's Tracer.start_span and Span.end are general: a sampler call, span-limit bookkeeping (a bounded
# dict and two bounded lists with a lock each, every attribute re-validated), the span's processors
# called through the multi-processor, and a ReadableSpan copy handed to them at the end: about 13 µs
# from start to end (encoding aside) for a SQL span, with 12 to 16 spans per request. HubTracer starts and
# ends the same SDK spans (``HubSpan`` is an ``opentelemetry.sdk.trace.Span``: same fields, limits,
# processors, sampler) in about 4 µs; anything it does not cover goes through the SDK's own code, and
# ``hub_tracer`` checks once that the installed SDK's spans have the fields it fills (else the SDK's
# tracer is used as it is).

_new = object.__new__
_tuple_new = tuple.__new__
_time_ns = time.time_ns
_getrandbits = random.getrandbits
_PLAIN = frozenset({str, int, float, bool})  # attribute values the SDK stores as they are
_FLAGS = tuple(TraceFlags(n) for n in range(4))  # TraceFlags.SAMPLED = 1, RANDOM_TRACE_ID = 2
_UNSET = Status(StatusCode.UNSET)
_NOOP_ON_START = frozenset({SpanProcessor.on_start, SimpleSpanProcessor.on_start, BatchSpanProcessor.on_start})
_NOOP_ON_ENDING = frozenset({SpanProcessor._on_ending, SimpleSpanProcessor._on_ending,
                             BatchSpanProcessor._on_ending})


def _plain(attributes: Mapping[str, Any], limits: Any) -> bool:
    """True when the SDK would keep ``attributes`` exactly as they are (no cleaning, nothing dropped)."""
    maxlen, max_value_len = limits.max_span_attributes, limits.max_span_attribute_length
    if maxlen is not None and len(attributes) > maxlen:
        return False
    for key, value in attributes.items():
        kind = type(value)
        if kind not in _PLAIN or type(key) is not str or not key:
            return False
        if kind is str and max_value_len is not None and len(value) > max_value_len:
            return False
    return True


def _span_attributes(attributes: Mapping[str, Any] | None, limits: Any) -> BoundedAttributes:
    """The SDK span's BoundedAttributes for ``attributes``, without re-validating plain values."""
    if attributes and not _plain(attributes, limits):
        return BoundedAttributes(limits.max_span_attributes, attributes, immutable=False,
                                 max_value_len=limits.max_span_attribute_length)
    bounded = _new(BoundedAttributes)
    bounded.__dict__ = {"_dict": dict(attributes) if attributes else {}, "maxlen": limits.max_span_attributes,
                        "dropped": 0, "max_value_len": limits.max_span_attribute_length,
                        "_lock": threading.Lock(), "_immutable": False}
    return bounded


def _current_span_function() -> Callable[[], trace.Span]:
    """``trace.get_current_span()`` for the current context, reading the ContextVar the API keeps it in
    (when the runtime context is the default, contextvars one) instead of through four calls."""
    from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
    from opentelemetry.trace.propagation import _SPAN_KEY

    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    variable = getattr(runtime, "_current_context", None)
    if type(runtime) is not ContextVarsRuntimeContext or not isinstance(variable, contextvars.ContextVar):
        return trace.get_current_span
    get, invalid, span_type = variable.get, trace.INVALID_SPAN, trace.Span

    def current() -> trace.Span:
        span = get().get(_SPAN_KEY)
        if type(span) is HubSpan or isinstance(span, span_type):
            return span
        return invalid

    return current


class HubSpan(SdkSpan):
    """An SDK span started by ``HubTracer``. Differences, none visible in what is exported:

    * its events and links lists are created with the first event or link (most spans have none);
    * plain attribute values (str, int, float, bool within the limits) are stored without the SDK's
      cleaning round; anything else takes the SDK's path;
    * processors get the ended span itself rather than a ReadableSpan copy of it (the copy shares the
      same attribute, event and link objects anyway; an ended span refuses every change).
    """

    _events: Any = ()  # replaced by a BoundedList on the first event (_add_event)
    _links: Any = ()

    def set_attribute(self, key: str, value: Any) -> None:
        bounded = self._attributes
        kind = type(value)
        if (kind in _PLAIN and type(key) is str and key and self._end_time is None and not bounded._immutable
                and (kind is not str or bounded.max_value_len is None or len(value) <= bounded.max_value_len)):
            values = bounded._dict
            if key in values:
                del values[key]  # as the SDK does: the latest value goes last
            elif bounded.maxlen is not None and len(values) >= bounded.maxlen:
                return super().set_attribute(key, value)  # full: the SDK drops and counts
            values[key] = value
            return None
        return super().set_attribute(key, value)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if self._end_time is None and _plain(attributes, self._limits):
            for key, value in attributes.items():
                self.set_attribute(key, value)
        else:
            super().set_attributes(attributes)

    def _add_event(self, event: Any) -> None:
        self._append("_events", self._limits.max_events, event, "_add_event")

    def _add_link(self, link: Any) -> None:
        self._append("_links", self._limits.max_links, link, "_add_link")

    def _append(self, field: str, maxlen: int | None, item: Any, caller: str) -> None:
        """Append to the span's events or links list, created with its first item."""
        with self._lock:
            if self._end_time is None:
                items = self.__dict__.get(field)
                if items is None:
                    items = BoundedList(maxlen)
                    setattr(self, field, items)
                items.append(item)
                return
        log.warning("Tried calling %s on an ended span.", caller)

    def end(self, end_time: int | None = None) -> None:
        with self._lock:
            if self._start_time is None:
                raise RuntimeError("Calling end() on a not started span.")
            if self._end_time is not None:
                log.warning("Calling end() on an ended span.")
                return
            self._end_time = end_time if end_time is not None else _time_ns()
            self._attributes._immutable = True
        self._hub_tracer._ended(self)


class HubTracer(trace.Tracer):
    """Starts the SDK tracer's spans as ``HubSpan``s (see above); same sampler, ids, resource, scope, limits
    and processors. A child of a sampled local ``HubSpan`` under ``LocalParentFastPath`` skips the sampler
    call (its answer is known). The SDK's tracer does what this one does not cover: a disabled tracer, the
    SDK's own span metrics turned on."""

    def __init__(self, tracer: Any):
        self.sdk = tracer
        self._processors: Any = None  # the multi-processor's tuple the three below were computed from
        self._on_start: tuple[Callable[..., None], ...] = ()
        self._on_ending: tuple[Callable[..., None], ...] = ()
        self._on_end: tuple[Callable[..., None], ...] = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sdk, name)

    def _dispatch(self, processors: Any) -> None:
        """The processors' hooks worth calling (no-op ``on_start``/``_on_ending`` left out), once per change
        of the provider's processors."""
        multi = self.sdk.span_processor
        if type(multi) is SynchronousMultiSpanProcessor:
            self._on_start = tuple(p.on_start for p in processors if type(p).on_start not in _NOOP_ON_START)
            self._on_ending = tuple(p._on_ending for p in processors if type(p)._on_ending not in _NOOP_ON_ENDING)
            self._on_end = tuple(p.on_end for p in processors)
        else:  # e.g. ConcurrentMultiSpanProcessor: through it, as the SDK does
            self._on_start, self._on_ending, self._on_end = (multi.on_start,), (multi._on_ending,), (multi.on_end,)
        self._processors = processors

    def _ended(self, span: HubSpan) -> None:
        processors = self.sdk.span_processor._span_processors
        if processors is not self._processors:
            self._dispatch(processors)
        for on_ending in self._on_ending:
            on_ending(span)
        for on_end in self._on_end:
            on_end(span)

    def start_span(self, name: str, context: Any = None, kind: SpanKind = SpanKind.INTERNAL,
                   attributes: Any = None, links: Any = (), start_time: int | None = None,
                   record_exception: bool = True, set_status_on_exception: bool = True) -> trace.Span:
        return self._start(name, context, current_span() if context is None else trace.get_current_span(context),
                           kind, attributes, links, start_time, record_exception, set_status_on_exception)

    def start_child(self, parent: Any, name: str, kind: SpanKind = SpanKind.INTERNAL, attributes: Any = None) -> Any:
        """``start_span(name, kind=kind, attributes=attributes)`` where ``parent`` is the current span (the
        caller just looked it up: ``current_span()``)."""
        return self._start(name, None, parent, kind, attributes, (), None, True, True)

    def _start(self, name: str, context: Any, parent: Any, kind: SpanKind, attributes: Any, links: Any,
               start_time: int | None, record_exception: bool, set_status_on_exception: bool) -> trace.Span:
        sdk = self.sdk
        if not sdk._tracer_config.is_enabled or type(sdk._tracer_metrics) is not NoOpTracerMetrics:
            return sdk.start_span(name, context, kind, attributes, links, start_time, record_exception,
                                  set_status_on_exception)
        if (type(parent) is HubSpan and parent._end_time is None and not links
                and type(sdk.sampler) is LocalParentFastPath):
            parent_context = parent._context
            # (SpanContext is a tuple: trace id, span id, is remote, flags, trace state, is valid.)
            trace_id, trace_flags, trace_state = parent_context[0], parent_context[3], parent_context[4]
        else:
            parent_context, trace_flags = parent.get_span_context(), 0
        if trace_flags & 1:
            # LocalParentFastPath's answer for a sampled local parent: record and sample, the caller's
            # attributes, the parent's trace state; the random-trace-id flag comes from the parent.
            flags = _FLAGS[1 | (trace_flags & 2)]
        else:  # what the SDK's Tracer.start_span does
            links = links or ()
            if parent_context is None or not parent_context.is_valid:
                parent_context = None
                trace_id = sdk.id_generator.generate_trace_id()
            else:
                trace_id = parent_context.trace_id
            result = sdk.sampler.should_sample(context, trace_id, name, kind, attributes, links)
            flags = 1 if result.decision.is_sampled() else 0
            if (sdk.id_generator.is_trace_id_random() if parent_context is None
                    else parent_context.trace_flags.random_trace_id):
                flags |= 2
            if not result.decision.is_recording():
                return NonRecordingSpan(SpanContext(trace_id, sdk.id_generator.generate_span_id(), is_remote=False,
                                                    trace_flags=_FLAGS[flags], trace_state=result.trace_state))
            flags, attributes, trace_state = _FLAGS[flags], result.attributes, result.trace_state
        ids = sdk.id_generator
        if type(ids) is RandomIdGenerator:
            span_id = _getrandbits(64)
            while not span_id:
                span_id = _getrandbits(64)
            if parent_context is not None and trace_state is not None:  # trace id of a valid context
                span_context = _tuple_new(SpanContext, (trace_id, span_id, False, flags, trace_state, True))
            else:
                span_context = SpanContext(trace_id, span_id, is_remote=False, trace_flags=flags,
                                           trace_state=trace_state)
        else:
            span_context = SpanContext(trace_id, ids.generate_span_id(), is_remote=False, trace_flags=flags,
                                       trace_state=trace_state)
        limits = sdk._span_limits
        span = _new(HubSpan)
        span.__dict__ = {
            "_name": name, "_context": span_context, "_kind": kind, "_parent": parent_context,
            "_instrumentation_info": sdk.instrumentation_info, "_instrumentation_scope": sdk._instrumentation_scope,
            "_resource": sdk.resource, "_status": _UNSET, "_end_time": None,
            "_start_time": start_time if start_time is not None else _time_ns(),
            "_attributes": _span_attributes(attributes, limits),
            "_sampler": sdk.sampler, "_trace_config": None, "_record_exception": record_exception,
            "_set_status_on_exception": set_status_on_exception, "_span_processor": sdk.span_processor,
            "_limits": limits, "_lock": threading.Lock(), "_record_end_metrics": None, "_hub_tracer": self,
        }
        if links:
            span._links = span._new_links(links)
        processors = sdk.span_processor._span_processors
        if processors is not self._processors:
            self._dispatch(processors)
        for on_start in self._on_start:
            on_start(span, parent_context=context)
        return span

    @contextlib.contextmanager
    def start_as_current_span(self, name: str, context: Any = None, kind: SpanKind = SpanKind.INTERNAL,
                              attributes: Any = None, links: Any = (), start_time: int | None = None,
                              record_exception: bool = True, set_status_on_exception: bool = True,
                              end_on_exit: bool = True) -> Iterator[trace.Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time, record_exception,
                               set_status_on_exception)
        with trace.use_span(span, end_on_exit=end_on_exit, record_exception=record_exception,
                            set_status_on_exception=set_status_on_exception) as current:
            yield current


current_span = _current_span_function()


_SUPPORTED: list[bool] = []


def _sdk_supported() -> bool:
    """Whether this SDK's spans are what HubTracer builds: checked once, by starting one span each way
    (no processor, no resource detection) and comparing their fields."""
    if not _SUPPORTED:
        try:
            provider = TracerProvider(resource=Resource.get_empty(), shutdown_on_exit=False)
            tracer = provider.get_tracer("hub.tracing.check")
            theirs, ours = tracer.start_span("check"), HubTracer(tracer).start_span("check")
            supported = (isinstance(theirs, SdkSpan) and type(ours) is HubSpan
                         and set(vars(theirs)) - {"_events", "_links"} == set(vars(ours)) - {"_hub_tracer"}
                         and set(vars(theirs._attributes)) == set(vars(ours._attributes))
                         and type(theirs._events) is BoundedList and type(theirs._links) is BoundedList)
        except Exception:  # noqa: BLE001 - any surprise: the SDK's own path
            log.debug("HubTracer check failed", exc_info=True)
            supported = False
        if not supported:
            log.info("this opentelemetry-sdk's spans differ from what hub.tracing.HubTracer builds: using the "
                     "SDK's tracer as it is")
        _SUPPORTED.append(supported)
    return _SUPPORTED[0]


def hub_tracer(provider: Any, name: str, version: str) -> Any:
    """The provider's tracer for ``name``: a ``HubTracer`` over an SDK tracer, else the tracer itself."""
    tracer = provider.get_tracer(name, version)
    if NoOpTracerMetrics is None or type(tracer) is not SdkTracer or not _sdk_supported():
        return tracer
    return HubTracer(tracer)


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
    ``OTEL_*`` describes), its metrics (``hub.metrics.HubMetrics``) and the statement/batch helpers.

    Never the global tracer provider: tests build several apps, each with its own provider.
    """

    def __init__(self, provider: TracerProvider | None = None, metrics: Any = None, resolver_spans: bool = False,
                 owns_provider: bool = False):
        self.provider = provider if provider is not None else TracerProvider(sampler=ALWAYS_OFF)
        from hub import __version__

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

    # -- SQL statements (hub.db.Department) --------------------------------------------------------

    def statement_span(self, name: str, sql: str, department: str, pool: str) -> trace.Span | None:
        """A CLIENT span for one statement, or None when the current span does not record."""
        parent = current_span()
        if not parent.is_recording():
            return None
        key = (name, pool)
        attributes = self._sql_attributes.get(key)
        if attributes is None:
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

    # -- DataLoader batches (hub.loaders.SqlLoader) ------------------------------------------------

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
