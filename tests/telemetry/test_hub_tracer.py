"""hub.tracing.HubTracer starts and ends the SDK's spans on a shorter path (it fills private fields of
opentelemetry-sdk's Span): what processors and exporters receive must equal what the SDK's own tracer
produces for the same calls — names, kinds, parents, attributes (incl. truncation and dropping at the
limits), events, links, status, exceptions, sampling — with only ids and times differing."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from hub.telemetry.tracing import HubSpan, HubTracer, LocalParentFastPath, hub_tracer


def _scenario(tracer) -> None:
    """The kinds of calls the hub makes, plus the edges of the SDK's limits."""
    with tracer.start_as_current_span("POST /graphql", kind=SpanKind.SERVER,
                                      attributes={"http.request.method": "POST", "url.path": "/graphql"}) as server:
        server.set_attribute("http.response.status_code", 200)
        with tracer.start_as_current_span("query Q", attributes={"graphql.operation.name": "Q"}) as op:
            sql = tracer.start_span("labor/x", kind=SpanKind.CLIENT, attributes={
                "db.system": "postgresql", "db.statement": "select 1", "n": 3, "f": 1.5, "b": True})
            sql.set_attribute("db.response.returned_rows", 7)
            sql.set_attribute("long", "x" * 500)  # truncated at the attribute length limit
            sql.set_attribute("list", [1, 2, 3])  # not a plain value: the SDK's path
            sql.set_attribute("none", None)  # refused by the SDK (not a valid value)
            for i in range(8):  # beyond the attribute count limit: the oldest are dropped and counted
                sql.set_attribute(f"extra.{i}", i)
            sql.end()
            op.add_event("retry", {"attempt": 2})
            op.add_link(sql.get_span_context(), {"why": "batch"})
            try:
                with tracer.start_as_current_span("failing"):
                    raise ValueError("boom")
            except ValueError:
                pass
            op.set_status(Status(StatusCode.ERROR, "bad"))
        other = tracer.start_span("linked", links=[Link(server.get_span_context(), {"k": "v"})])
        other.update_name("renamed")
        other.end()
    root = tracer.start_span("root without parent", context=trace.set_span_in_context(trace.INVALID_SPAN))
    root.end()


def _export(sampler, use_hub: bool) -> list[dict]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler, resource=Resource.create({"service.name": "t"}),
                              span_limits=SpanLimits(max_span_attributes=12, max_span_attribute_length=64,
                                                     max_events=4, max_links=4), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = hub_tracer(provider, "hub", "1") if use_hub else provider.get_tracer("hub", "1")
    assert isinstance(tracer, HubTracer) == use_hub
    _scenario(tracer)
    spans = exporter.get_finished_spans()
    ids = {s.context.span_id: s.name for s in spans}
    out = []
    for s in spans:
        assert (type(s) is HubSpan) == use_hub
        out.append({
            "name": s.name, "kind": s.kind, "parent": ids.get(s.parent.span_id) if s.parent else None,
            "attributes": dict(s.attributes), "dropped": s.dropped_attributes,
            # the stack trace names the tracer's own frames: only its presence is compared
            "events": [(e.name, {k: (v if k != "exception.stacktrace" else "Traceback" in v)
                                 for k, v in e.attributes.items()}) for e in s.events],
            "links": [(ids.get(link.context.span_id), dict(link.attributes)) for link in s.links],
            "status": (s.status.status_code, s.status.description), "sampled": s.context.trace_flags.sampled,
            "resource": dict(s.resource.attributes), "scope": s.instrumentation_scope.name,
            "ended": s.end_time is not None and s.end_time >= s.start_time,
        })
    return out


def test_hub_tracer_exports_what_the_sdk_tracer_exports() -> None:
    for sampler in (ALWAYS_ON, ParentBased(ALWAYS_ON), LocalParentFastPath(ParentBased(ALWAYS_ON)),
                    LocalParentFastPath(TraceIdRatioBased(1.0))):
        ours, theirs = _export(sampler, True), _export(sampler, False)
        assert ours == theirs, sampler
        assert len(ours) == 6 and any(s["dropped"] for s in ours) and any(s["events"] for s in ours)
        assert ours[0]["attributes"]["long"] == "x" * 64 and ours[0]["attributes"]["list"] == (1, 2, 3)


def test_unsampled_spans_do_not_record_with_either_tracer() -> None:
    for use_hub in (True, False):
        assert _export(LocalParentFastPath(TraceIdRatioBased(0.0)), use_hub) == []


def test_current_span_is_the_apis_current_span_in_every_context() -> None:
    """hub.telemetry.span_path.current_span reads the API's ContextVar itself: it must answer what
    trace.get_current_span() answers, with no span in the context too (then INVALID_SPAN, without an isinstance)."""
    from opentelemetry import context as otel_context
    from opentelemetry.trace.propagation import _SPAN_KEY

    from hub.telemetry.tracing import current_span

    sdk_tracer = TracerProvider(resource=Resource.create({})).get_tracer("t")
    hub = HubTracer(sdk_tracer)
    remote = trace.NonRecordingSpan(trace.SpanContext(0x1F, 0x2F, is_remote=True))
    assert current_span() is trace.get_current_span() is trace.INVALID_SPAN  # nothing attached
    for span in (sdk_tracer.start_span("sdk"), hub.start_span("hub"), remote, trace.INVALID_SPAN):
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            assert current_span() is trace.get_current_span() is span
        finally:
            otel_context.detach(token)
    token = otel_context.attach(otel_context.set_value(_SPAN_KEY, "not a span"))  # the API's key, a stray value
    try:
        assert current_span() is trace.get_current_span() is trace.INVALID_SPAN
    finally:
        otel_context.detach(token)
    assert current_span() is trace.INVALID_SPAN
