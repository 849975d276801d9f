"""hub.otlp's wire encoder produces what the SDK's protobuf encoder produces (decoded with opentelemetry-proto)."""

from __future__ import annotations

import time

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from hub.telemetry.otlp import _Encoder, encode_request
from hub.telemetry.otlp_batch import EncodedBatchSpanProcessor


class _Keep(SpanExporter):
    def __init__(self) -> None:
        self.spans: list = []

    def export(self, spans):  # noqa: ANN001
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def _spans() -> list:
    keep = _Keep()
    provider = TracerProvider(resource=Resource.create({"service.name": "enc-test", "replicas": 2}))
    provider.add_span_processor(SimpleSpanProcessor(keep))
    tracer = provider.get_tracer("hub", "0.1.0")
    other = provider.get_tracer("other")
    remote = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, is_remote=True,
                         trace_flags=TraceFlags(1), trace_state=TraceState([("vendor", "v1"), ("x", "y")]))
    with tracer.start_as_current_span("POST /graphql", context=trace.set_span_in_context(
            trace.NonRecordingSpan(remote)), kind=SpanKind.SERVER, attributes={"http.route": "/graphql"}):
        with tracer.start_as_current_span("query Q", attributes={
                "hub.cost": 42, "hub.error_codes": ["BAD_USER_INPUT", "FORBIDDEN"], "ratio": 0.5, "ok": True,
                "negative": -7, "ints": [1, 2, 3], "flags": [True, False], "big": 2**62}) as op:
            op.set_status(Status(StatusCode.ERROR, "BAD_USER_INPUT"))
            try:
                raise ValueError("boom ünicode")
            except ValueError as exc:
                op.record_exception(exc)
            op.add_event("note", {"rows": 3})
            for _ in range(2):  # the same string attributes twice: the encoder's cache
                span = tracer.start_span("labor/x", kind=SpanKind.CLIENT, attributes={
                    "db.system": "postgresql", "db.statement": "select 1 where a = $1"})
                span.set_attribute("db.response.returned_rows", 0)
                span.end()
        linked = other.start_span("linked", links=[Link(remote, {"why": "batch"})])
        linked.set_status(Status(StatusCode.OK))
        linked.end()
    return keep.spans


def _decode(data: bytes) -> ExportTraceServiceRequest:
    message = ExportTraceServiceRequest()
    message.ParseFromString(data)
    return message


def test_the_fast_encoder_matches_the_sdk_encoder() -> None:
    spans = _spans()
    ours, theirs = _decode(encode_request(spans)), encode_spans(spans)
    # The SDK leaves out a link's trace state; the hub keeps it (OTLP has the field): compare without it.
    for resource_spans in ours.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                for link in span.links:
                    assert link.trace_state == "vendor=v1,x=y"
                    link.ClearField("trace_state")
    assert ours == theirs
    # Sanity: the comparison sees the interesting parts.
    all_spans = [s for rs in ours.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert len(all_spans) == 5 and {ss.scope.name for rs in ours.resource_spans for ss in rs.scope_spans} == {
        "hub", "other"}
    [op] = [s for s in all_spans if s.name == "query Q"]
    assert op.status.code == 2 and [e.name for e in op.events] == ["exception", "note"]


def test_the_encoder_cache_does_not_change_the_output() -> None:
    spans = _spans()
    encoder = _Encoder()
    first, second = encode_request(spans, encoder), encode_request(spans, encoder)
    assert first == second == encode_request(spans)


class _FakeExporter:
    """Records what the processor sends (``HubOTLPSpanExporter``'s ``encoder``/``send``/``shutdown``)."""

    def __init__(self, ok: bool = True) -> None:
        self.encoder = _Encoder()
        self.sent: list[bytes] = []
        self.ok = ok
        self.closed = False

    def send(self, data: bytes) -> bool:
        self.sent.append(data)
        return self.ok

    def shutdown(self) -> None:
        self.closed = True

    def spans(self) -> list:
        return [s for data in self.sent for rs in _decode(data).resource_spans for ss in rs.scope_spans
                for s in ss.spans]


def _provider(processor) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(processor)
    return provider


def test_the_batch_processor_exports_in_batches_flushes_and_shuts_down() -> None:
    exporter = _FakeExporter()
    processor = EncodedBatchSpanProcessor(exporter, schedule_delay_millis=60_000, max_export_batch_size=4)
    tracer = _provider(processor).get_tracer("hub")
    for i in range(10):
        tracer.start_span(f"s{i}").end()
    deadline = time.monotonic() + 5
    while len(exporter.spans()) < 8 and time.monotonic() < deadline:  # two full batches, by the worker
        time.sleep(0.01)
    sizes = [len(_decode(d).resource_spans[0].scope_spans[0].spans) for d in exporter.sent]
    assert sizes[:2] == [4, 4] and all(n <= 4 for n in sizes)  # batches of at most 4, by the worker
    assert processor.force_flush()
    assert [s.name for s in exporter.spans()] == [f"s{i}" for i in range(10)]
    tracer.start_span("last").end()
    processor.shutdown()
    assert exporter.spans()[-1].name == "last" and exporter.closed
    tracer.start_span("after shutdown").end()
    assert exporter.spans()[-1].name == "last"


def test_the_batch_processor_bounds_its_queue_and_counts_failures() -> None:
    exporter = _FakeExporter(ok=False)
    processor = EncodedBatchSpanProcessor(exporter, max_queue_size=3, schedule_delay_millis=60_000,
                                          max_export_batch_size=512)
    wake = processor._wake.set
    processor._wake.set = lambda: None  # keep the worker asleep: the queue fills
    tracer = _provider(processor).get_tracer("hub")
    for i in range(5):
        tracer.start_span(f"s{i}").end()
    assert processor.dropped == 2
    processor.force_flush()
    assert [s.name for s in exporter.spans()] == ["s0", "s1", "s2"] and processor.failed == 1
    unsampled = TracerProvider(sampler=__import__("opentelemetry.sdk.trace.sampling", fromlist=["x"]).ALWAYS_OFF)
    unsampled.add_span_processor(processor)
    unsampled.get_tracer("hub").start_span("not sampled").end()
    processor.force_flush()
    assert len(exporter.spans()) == 3
    processor._wake.set = wake
    processor.shutdown()
