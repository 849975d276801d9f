"""The hub's span path: ``HubTracer`` starts and ends opentelemetry-sdk's own spans on a shorter path, and
``LocalParentFastPath`` answers the sampler question for children of sampled local spans (``hub.telemetry.tracing``
uses both; they are re-exported there).

Hand-written because the SDK's general path (sampler call, span-limit bookkeeping, a ReadableSpan copy at
the end) costs ~13 µs per span and the hub makes 12-16 spans per request; no library offers a leaner one.
It fills PRIVATE fields of the SDK's ``Span`` (opentelemetry-sdk is pinned exactly in pyproject.toml):
``hub_tracer`` checks once at start-up that this SDK's spans have exactly those fields (else the SDK's own
tracer is used), and ``tests/telemetry/test_hub_tracer.py`` checks that both tracers export the same spans.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import random
import threading
import time
from typing import Any, Callable, Iterator, Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.sdk.trace import SpanProcessor, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation import _SPAN_KEY

try:  # the SDK's own span metrics (OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED): HubTracer leaves those to it
    from opentelemetry.sdk.trace._tracer_metrics import NoOpTracerMetrics
except ImportError:  # pragma: no cover - an SDK without them
    NoOpTracerMetrics = None

log = logging.getLogger("hub.tracing")


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
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    variable = getattr(runtime, "_current_context", None)
    if type(runtime) is not ContextVarsRuntimeContext or not isinstance(variable, contextvars.ContextVar):
        return trace.get_current_span
    get, invalid, span_type = variable.get, trace.INVALID_SPAN, trace.Span

    def current() -> trace.Span:
        span = get().get(_SPAN_KEY)
        if span is None:  # no span in the context (most requests when tracing is off): spare the ABC's isinstance
            return invalid
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
            log.info("this opentelemetry-sdk's spans differ from what hub.telemetry.tracing.HubTracer builds: using the "
                     "SDK's tracer as it is")
        _SUPPORTED.append(supported)
    return _SUPPORTED[0]


def hub_tracer(provider: Any, name: str, version: str) -> Any:
    """The provider's tracer for ``name``: a ``HubTracer`` over an SDK tracer, else the tracer itself."""
    tracer = provider.get_tracer(name, version)
    if NoOpTracerMetrics is None or type(tracer) is not SdkTracer or not _sdk_supported():
        return tracer
    return HubTracer(tracer)
