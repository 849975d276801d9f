"""Traces as exported: OTLP/HTTP to a receiver on 127.0.0.1, decoded with opentelemetry-proto."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from dataclasses import replace
from typing import Any, Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, NoOpTracer, SpanContext, TraceFlags, set_span_in_context
from starlette.testclient import TestClient

from hub.api.telemetry import operation_scope
from hub.app import create_app
from hub.db.pools import Databases, SqlRegistry
from hub.settings import Settings
from hub.telemetry.metrics import HubMetrics
from hub.telemetry.tracing import exporters_from_env, provider_from_env
from hub.telemetry.tracing import LocalParentFastPath, Telemetry, sampler_from_env
from tests.support.helpers import sql_value
from tests.support.otlp_receiver import OtlpReceiver

# Occupation (labor) -> postings (labor) -> enterprise (commerce) -> industry (commerce).
NESTED = """query NestedTrace {
  occupations(first: 3) { nodes { code postingCount
    postings(first: 2) { nodes { title enterprise { name industry { code name } } } } } }
}"""
# enterprise + industry, and the occupations' page + their posting counts: one statement each on the compiled path
# (hub.api.fused), one batch each named after its parts
LOADERS = {"OccupationsPage+PostingCountByOccupationLoader", "PostingsByOccupationLoader",
           "EnterpriseByUsccLoader+IndustryByCodeLoader"}
# Statements of authentication and of the sharing policy run before the operation (policy cache 0 here).
PRE_OPERATION = {"hub/consumer_by_token_hash", "hub/catalog_datasets", "hub/catalog_fields",
                 "hub/catalog_arguments", "hub/grants_active_for_department"}


@pytest.fixture()
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


def _traced_client(settings: Settings, receiver: OtlpReceiver, token: str, **changes: Any):
    provider = provider_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50",
                                  "OTEL_SERVICE_NAME": "hub-under-test"})
    client = TestClient(create_app(replace(settings, **changes), tracer_provider=provider))
    client.headers["Authorization"] = f"Bearer {token}"
    return client, provider


def _trace(receiver: OtlpReceiver, provider: Any, trace_id: str) -> list[dict[str, Any]]:
    provider.force_flush()
    return [s for s in receiver.wait_for(
        lambda spans: any(s["kind"] == "SERVER" and s["trace_id"] == trace_id for s in spans))
        if s["trace_id"] == trace_id]


def test_a_nested_query_exports_exactly_the_request_tree(settings, tokens, receiver) -> None:
    caller_trace, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    client, provider = _traced_client(settings, receiver, tokens["labor"])
    with client:
        before = client.app.state.db.stats.statements
        response = client.post("/graphql", json={"query": NESTED},
                               headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"})
        statements = client.app.state.db.stats.statements - before
    assert response.status_code == 200 and "errors" not in response.json()
    # The caller's trace is continued, and named in the answer.
    assert response.json()["extensions"]["traceId"] == caller_trace
    header = response.headers["traceresponse"].split("-")
    assert header[0] == "00" and header[1] == caller_trace and header[3] == "01"

    spans = _trace(receiver, provider, caller_trace)
    by_kind = lambda kind: [s for s in spans if s["kind"] == kind]  # noqa: E731
    [server] = by_kind("SERVER")
    assert server["parent_span_id"] == caller_span and server["span_id"] == header[2]
    assert server["name"] == "POST /graphql"
    assert server["attributes"]["http.response.status_code"] == 200
    assert server["attributes"]["http.route"] == "/graphql"
    assert server["resource"]["service.name"] == "hub-under-test"

    [operation] = [s for s in by_kind("INTERNAL") if not s["name"].startswith("dataloader ") and s["name"] != "audit"]
    assert operation["name"] == "query NestedTrace" and operation["parent_span_id"] == server["span_id"]
    attributes = operation["attributes"]
    assert attributes["graphql.operation.type"] == "query"
    assert attributes["graphql.operation.name"] == "NestedTrace"
    assert attributes["graphql.document.hash"] == hashlib.sha256(NESTED.encode()).hexdigest()
    assert attributes["hub.consumer.department"] == "labor"
    assert attributes["hub.cost"] > 0 and "hub.error_codes" not in attributes

    batches = [s for s in spans if s["name"].startswith("dataloader ")]
    assert {b["attributes"].get("hub.loader.name") for b in batches} == LOADERS, batches
    assert all(b["parent_span_id"] == operation["span_id"] for b in batches)

    registry = SqlRegistry()
    queries = by_kind("CLIENT")
    for q in queries:
        assert q["attributes"]["db.system"] == "postgresql"
        # Named after the statement (a generated one by its label: SqlRegistry.label); its text is the registry's,
        # with $n parameters only.
        names = [n for n in [*registry.names(), *SqlRegistry.generated] if SqlRegistry.label(n) == q["name"]]
        assert q["attributes"]["db.statement"] in [registry[n] for n in names], q
        assert not q["attributes"]["db.statement"].startswith("--")
    for batch in batches:
        children = [q for q in queries if q["parent_span_id"] == batch["span_id"]]
        assert len(children) == 1, batch["name"]
        rows = children[0]["attributes"]["db.response.returned_rows"]
        assert batch["attributes"]["hub.loader.rows"] == rows and batch["attributes"]["hub.loader.keys"] >= 1
        assert "$1" in children[0]["attributes"]["db.statement"]
    under_operation = {q["name"] for q in queries if q["parent_span_id"] == operation["span_id"]}
    assert under_operation == set()  # the page itself is fused with its nodes' counts: a batch of its own
    assert {q["name"] for q in queries if q["parent_span_id"] == server["span_id"]} == PRE_OPERATION
    # The audit entry: the operation waits for its group-commit batch in an "audit" span; a lone request's
    # batch is its own entry, so the batch INSERT is that span's child, in this trace.
    [audit] = [s for s in spans if s["name"] == "audit"]
    assert audit["parent_span_id"] == operation["span_id"] and audit["attributes"]["hub.audit.batch_size"] == 1
    assert [q["name"] for q in queries if q["parent_span_id"] == audit["span_id"]] == ["hub/audit_append"]
    # Exactly that tree: one span per statement (the audit insert is not counted in stats), nothing else.
    assert len(queries) == statements + 1
    assert len(spans) == 1 + 1 + 1 + len(batches) + len(queries)
    assert not [s for s in spans if s["name"].startswith("resolve ")]
    # The audit entry of the operation names the same trace.
    assert sql_value(settings.database_url, "select trace_id from hub.audit_log where operation_name = "
                     "'NestedTrace' order by id desc limit 1") == caller_trace


def test_without_traceparent_the_hub_starts_the_trace(settings, tokens, receiver) -> None:
    client, provider = _traced_client(settings, receiver, tokens["labor"])
    with client:
        response = client.post("/graphql", json={"query": "{ occupations(first: 1) { nodes { code } } }"})
    trace_id = response.json()["extensions"]["traceId"]
    spans = _trace(receiver, provider, trace_id)
    [server] = [s for s in spans if s["kind"] == "SERVER"]
    assert server["parent_span_id"] is None
    version, traced, span_id, flags = response.headers["traceresponse"].split("-")
    assert (version, traced, span_id) == ("00", trace_id, server["span_id"]) and int(flags, 16) & 1  # sampled
    assert {s["name"] for s in spans if s["parent_span_id"] == server["span_id"]} >= {"query"}


def test_each_websocket_operation_is_a_trace(settings, tokens, receiver) -> None:
    """An operation on a graphql-transport-ws socket is traced as an HTTP request is: a SERVER span ``WS /graphql``
    continuing the upgrade request's trace context, the operation span and its statements under it, the trace id in
    the ``next`` message and in the audit entry. Before, nothing on a socket was traced (no span was current, so
    none was started) and its audit entries had no trace id."""
    client, provider = _traced_client(settings, receiver, tokens["labor"])
    caller_trace, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    query = "query OverSocket { occupations(first: 1) { nodes { code } } }"
    with client, client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"],
                                          headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"}) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {tokens['labor']}"}})
        received = lambda: json.loads(ws.receive()["bytes"])  # noqa: E731 - the hub sends JSON as bytes frames
        assert received()["type"] == "connection_ack"
        ws.send_json({"id": "7", "type": "subscribe", "payload": {"query": query}})
        answer, done = received(), received()
    assert answer["type"] == "next" and done == {"id": "7", "type": "complete"}
    assert answer["payload"]["extensions"] == {"traceId": caller_trace}
    spans = _trace(receiver, provider, caller_trace)
    [server] = [s for s in spans if s["kind"] == "SERVER"]
    assert server["name"] == "WS /graphql" and server["parent_span_id"] == caller_span
    assert server["attributes"]["hub.websocket.operation_id"] == "7"
    [operation] = [s for s in spans if s["name"] == "query OverSocket"]
    assert operation["parent_span_id"] == server["span_id"]
    assert any(s["parent_span_id"] == operation["span_id"] and s["kind"] == "CLIENT" for s in spans)  # its statement
    assert sql_value(settings.database_url, "select trace_id from hub.audit_log where operation_name = 'OverSocket' "
                     "order by id desc limit 1") == caller_trace


def test_errors_and_refusals_are_on_the_spans(settings, tokens, receiver) -> None:
    client, provider = _traced_client(settings, receiver, tokens["labor"])
    with client:
        bad = client.post("/graphql", json={"query": "query TooMany { occupations(first: 100000) { nodes { code } } }"})
        refused = client.post("/graphql", json={"query": "{ occupations { nodes { code } } }"},
                              headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401 and refused.headers["traceresponse"]
    spans = _trace(receiver, provider, bad.json()["extensions"]["traceId"])
    [operation] = [s for s in spans if s["name"] == "query TooMany"]
    assert operation["attributes"]["hub.error_codes"] == ["BAD_USER_INPUT"]
    assert operation["status"] == 2  # STATUS_CODE_ERROR
    refused_trace = refused.headers["traceresponse"].split("-")[1]
    refused_spans = _trace(receiver, provider, refused_trace)  # 401: the token lookup, no operation
    [server] = [s for s in refused_spans if s["kind"] == "SERVER"]
    assert server["attributes"]["http.response.status_code"] == 401
    assert [s["name"] for s in refused_spans if s is not server] == ["hub/consumer_by_token_hash"]


def test_resolver_spans_only_when_turned_on(settings, tokens, receiver) -> None:
    client, provider = _traced_client(settings, receiver, tokens["labor"], trace_resolvers=True)
    with client:
        response = client.post("/graphql", json={"query": NESTED})
    spans = _trace(receiver, provider, response.json()["extensions"]["traceId"])
    resolvers = {s["name"] for s in spans if s["name"].startswith("resolve ")}
    assert {"resolve Query.occupations", "resolve Occupation.postings", "resolve JobPosting.enterprise"} <= resolvers
    assert "resolve Occupation.code" not in resolvers  # plain attributes never get a span
    by_id = {s["span_id"]: s for s in spans}
    [batch] = [s for s in spans if s["name"] == "dataloader PostingsByOccupationLoader"]
    assert by_id[batch["parent_span_id"]]["name"] == "resolve Occupation.postings"


def test_exporters_follow_the_standard_variables() -> None:
    assert exporters_from_env({}) == []
    assert exporters_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) == ["otlp"]
    assert exporters_from_env({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}) == ["otlp"]
    assert exporters_from_env({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}) == []
    assert exporters_from_env({"OTEL_TRACES_EXPORTER": "otlp,console"}) == ["otlp", "console"]
    assert exporters_from_env({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}) == []


def test_unconfigured_tracing_exports_nothing_and_prints_nothing(settings, tokens, capfd) -> None:
    provider = provider_from_env({})
    assert not provider._active_span_processor._span_processors  # no exporter at all
    with TestClient(create_app(settings, tracer_provider=provider)) as client:
        client.headers["Authorization"] = f"Bearer {tokens['labor']}"
        response = client.post("/graphql", json={"query": "{ occupations(first: 1) { nodes { code } } }"})
    # Trace ids are still handed out (logs, audit, the caller), though nothing is recorded.
    assert len(response.json()["extensions"]["traceId"]) == 32
    assert int(response.headers["traceresponse"].split("-")[3], 16) & 1 == 0  # not sampled
    out, err = capfd.readouterr()
    assert out == "" and "span" not in err.lower()


def test_a_disabled_sdk_hands_out_no_ids_but_continues_a_callers(settings, tokens, monkeypatch) -> None:
    """OTEL_SDK_DISABLED=true: the SDK's tracer is the API's NoOpTracer. A request without a trace context gets no
    ids (no header, no traceId, none in the audit entry); one with a caller's keeps the caller's, as the NoOpTracer
    continues it (the middleware starts no span for the first kind: hub.telemetry.observe)."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")  # read by the SDK's TracerProvider
    provider = provider_from_env({"OTEL_SDK_DISABLED": "true"})
    assert type(Telemetry(provider).tracer) is NoOpTracer
    caller_trace, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    with TestClient(create_app(settings, tracer_provider=provider)) as client:
        client.headers["Authorization"] = f"Bearer {tokens['labor']}"
        query = "query %s { occupations(first: 1) { nodes { code } } }"
        plain = client.post("/graphql", json={"query": query % "NoTrace"})
        traced = client.post("/graphql", json={"query": query % "CallerTrace"},
                             headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"})
    assert plain.status_code == traced.status_code == 200
    assert "traceresponse" not in plain.headers and "extensions" not in plain.json()
    assert traced.headers["traceresponse"] == f"00-{caller_trace}-{caller_span}-01"
    assert traced.json()["extensions"] == {"traceId": caller_trace}
    stored = {name: sql_value(settings.database_url, "select trace_id from hub.audit_log where operation_name = "
                              f"'{name}' order by id desc limit 1") for name in ("NoTrace", "CallerTrace")}
    assert stored == {"NoTrace": None, "CallerTrace": caller_trace}


def test_operation_scope_traces_an_operation_answered_without_strawberry(settings) -> None:
    """The API for paths that bypass the executor (e.g. compiled trusted queries)."""
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    telemetry = Telemetry(provider, HubMetrics())

    class Ctx:
        consumer = request = None
        cost = 7

    async def go() -> None:
        ctx = Ctx()
        ctx.db = await Databases(settings, settings.database_url, telemetry=telemetry).open()
        try:
            with telemetry.tracer.start_as_current_span("POST /graphql"):
                with operation_scope(ctx, "query", "Compiled", "query Compiled { x }") as outcome:
                    await ctx.db.labor.fetch("labor/occupations_by_code", ["1-01-00-01"])
                    outcome.codes = ["FORBIDDEN"]
                with pytest.raises(RuntimeError):
                    with operation_scope(ctx, "query", "Broken"):
                        raise RuntimeError("boom")
        finally:
            await ctx.db.close()

    asyncio.run(go())
    spans = {s.name: s for s in exported.get_finished_spans()}
    assert spans["query Compiled"].parent.span_id == spans["POST /graphql"].context.span_id
    assert spans["labor/occupations_by_code"].parent.span_id == spans["query Compiled"].context.span_id
    assert spans["query Compiled"].attributes["hub.error_codes"] == ("FORBIDDEN",)
    assert spans["query Compiled"].attributes["hub.cost"] == 7
    assert spans["query Broken"].attributes["hub.error_codes"] == ("INTERNAL_SERVER_ERROR",)
    assert telemetry.metrics.errors.labels("FORBIDDEN")._value.get() == 1


def test_the_sampler_fast_path_agrees_with_the_configured_sampler() -> None:
    calls = []

    class Counting:
        def __init__(self, inner):
            self.inner = inner

        def should_sample(self, *args, **kwargs):
            calls.append(args[2])
            return self.inner.should_sample(*args, **kwargs)

    for env in ({}, {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.5"},
                {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.5"}):
        sampler = sampler_from_env(env)
        assert isinstance(sampler, LocalParentFastPath)
        sampler.sampler = Counting(sampler.sampler)
        tracer = TracerProvider(sampler=sampler).get_tracer("t")
        for trace_id in range(1, 200, 7):
            calls.clear()
            remote = SpanContext(trace_id << 64, 1, is_remote=True, trace_flags=TraceFlags(1))
            with tracer.start_as_current_span("server", context=set_span_in_context(NonRecordingSpan(remote))) as s:
                child = tracer.start_span("child", attributes={"db.system": "postgresql"})
                expected = sampler.sampler.inner.should_sample(None, trace_id << 64, "x").decision
                if s.is_recording():
                    assert child.is_recording() and calls == ["server"]  # the child did not ask
                    assert child.attributes == {"db.system": "postgresql"}
                else:
                    assert not child.is_recording()
                if "OTEL_TRACES_SAMPLER" in env and env["OTEL_TRACES_SAMPLER"] == "traceidratio":
                    assert s.is_recording() == (expected is Decision.RECORD_AND_SAMPLE)
                child.end()


def test_a_statement_span_shows_the_text_that_ran_under_a_shared_label(settings, tokens, receiver) -> None:
    """A narrowed statement (``name#digest``, hub.api.fused) is traced under its SQL file's name (SqlRegistry.label),
    but each span's ``db.statement`` is the text that ran: the narrowed one, then the file's own text when the
    general path runs the file (the span attributes are cached per statement, not per label)."""
    client, provider = _traced_client(settings, receiver, tokens["labor"])
    narrowed = "{ jobPostings(first: 2) { nodes { id title } } }"
    general = "{ jobPostings(first: 2) { nodes { id @include(if: true) title } } }"  # a directive: the general path
    statements = {}
    with client:
        for text in (narrowed, general):
            trace_id = secrets.token_hex(16)
            response = client.post("/graphql", json={"query": text},
                                   headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
            assert response.status_code == 200 and "errors" not in response.json()
            [span] = [s for s in _trace(receiver, provider, trace_id)
                      if s["kind"] == "CLIENT" and s["name"] == "labor/postings_page"]
            statements[text] = span["attributes"]["db.statement"]
    assert 'p."title"' in statements[narrowed] and 'p."closes_on"' not in statements[narrowed]
    assert statements[general] == SqlRegistry()["labor/postings_page"]


@pytest.mark.parametrize("context", [
    {"traceparent": f"00-{'0' * 32}-{'0' * 16}-01"},  # all-zero ids: invalid
    {"traceparent": "ff-" + "a" * 32 + "-" + "b" * 16 + "-01"},  # version ff: invalid
    {"traceparent": "00-" + "A" * 32 + "-" + "b" * 16 + "-01", "tracestate": "x=" + "y" * 6000},
    {"tracestate": ",".join(f"k{i}=v" for i in range(100)), "baggage": ",".join(f"k{i}=%ZZ" for i in range(500))},
    {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01\x7f", "baggage": "=;=,,;;" * 500},
])
def test_a_sockets_malformed_trace_context_starts_a_trace_of_its_own(settings, tokens, receiver, context) -> None:
    """A malformed trace context on the upgrade request (invalid ids or version, an oversized or garbled tracestate
    or baggage) is ignored, as over HTTP: each operation on the socket is still answered with its data, under a
    fresh trace of its own whose id is the one in its audit entry; two operations never share one."""
    client, _provider = _traced_client(settings, receiver, tokens["labor"])
    query = "query Malformed { occupations(first: 1) { nodes { code } } }"
    with client, client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"],
                                          headers=context) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {tokens['labor']}"}})
        received = lambda: json.loads(ws.receive()["bytes"])  # noqa: E731 - the hub sends JSON as bytes frames
        assert received()["type"] == "connection_ack"
        answers = []
        for op in ("1", "2"):
            ws.send_json({"id": op, "type": "subscribe", "payload": {"query": query}})
            answer, done = received(), received()
            assert answer["type"] == "next" and done == {"id": op, "type": "complete"}, (answer, done)
            assert len(answer["payload"]["data"]["occupations"]["nodes"]) == 1
            answers.append(answer["payload"]["extensions"]["traceId"])
    assert answers[0] != answers[1] and all(len(t) == 32 and t != "0" * 32 for t in answers)
    audited = sql_value(settings.database_url, "select array_agg(trace_id order by id) from (select id, trace_id "
                        "from hub.audit_log where operation_name = 'Malformed' order by id desc limit 2) last")
    assert list(audited) == answers


@pytest.mark.parametrize("caller", [False, True], ids=["no-context", "caller-context"])
def test_a_disabled_sdk_on_a_socket_hands_out_no_ids_but_continues_a_callers(settings, tokens, monkeypatch,
                                                                              caller: bool) -> None:
    """OTEL_SDK_DISABLED=true on a websocket: start_server_span starts nothing without a caller's context, and the
    operation is still answered and audited, with no traceId and no trace id in its entry; with a caller's
    traceparent on the upgrade, its id is in both, as over HTTP."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    provider = provider_from_env({"OTEL_SDK_DISABLED": "true"})
    caller_trace = secrets.token_hex(16)
    name = "DisabledSocketCaller" if caller else "DisabledSocketPlain"
    headers = {"traceparent": f"00-{caller_trace}-{secrets.token_hex(8)}-01"} if caller else {}
    with TestClient(create_app(settings, tracer_provider=provider)) as client, client.websocket_connect(
            "/graphql", subprotocols=["graphql-transport-ws"], headers=headers) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {tokens['labor']}"}})
        received = lambda: json.loads(ws.receive()["bytes"])  # noqa: E731 - the hub sends JSON as bytes frames
        assert received()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe",
                      "payload": {"query": f"query {name} {{ occupations(first: 1) {{ nodes {{ code }} }} }}"}})
        answer, done = received(), received()
    assert answer["type"] == "next" and done["type"] == "complete"
    assert answer["payload"]["data"]["occupations"]["nodes"]
    assert answer["payload"].get("extensions") == ({"traceId": caller_trace} if caller else None)
    assert sql_value(settings.database_url, "select count(*) from hub.audit_log where operation_name = $1", name) == 1
    assert sql_value(settings.database_url, "select trace_id from hub.audit_log where operation_name = $1",
                     name) == (caller_trace if caller else None)


def test_client_chosen_texts_on_spans_are_bounded(settings, tokens, receiver) -> None:
    """An operation's name and a socket operation's id are the client's, as long as the body allows (1 MB): each
    became a span name or attribute of that size, and one such span could exceed a collector's message limit and
    be dropped with the other consumers' spans of its batch. Attribute texts keep ``ATTRIBUTE_LENGTH`` characters
    (unless the standard OTEL_*_ATTRIBUTE_VALUE_LENGTH_LIMIT variables say otherwise) and an operation span's name
    ``SPAN_NAME_LENGTH``; the audit entry keeps the whole name."""
    from hub.api.telemetry import SPAN_NAME_LENGTH
    from hub.telemetry.tracing import ATTRIBUTE_LENGTH

    client, provider = _traced_client(settings, receiver, tokens["labor"])
    name, socket_id = "Long" + "x" * 20_000, "i" * 20_000
    trace_http, trace_ws = secrets.token_hex(16), secrets.token_hex(16)
    with client:
        answer = client.post("/graphql", json={"query": f"query {name} {{ __typename }}"},
                             headers={"traceparent": f"00-{trace_http}-{secrets.token_hex(8)}-01"})
        assert answer.status_code == 200 and answer.json()["data"] == {"__typename": "Query"}
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"],
                                      headers={"traceparent": f"00-{trace_ws}-{secrets.token_hex(8)}-01"}) as ws:
            ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {tokens['labor']}"}})
            assert json.loads(ws.receive()["bytes"])["type"] == "connection_ack"
            ws.send_json({"id": socket_id, "type": "subscribe", "payload": {"query": "{ __typename }"}})
            assert json.loads(ws.receive()["bytes"])["type"] == "next"
    [operation] = [s for s in _trace(receiver, provider, trace_http) if s["name"].startswith("query Long")]
    assert operation["name"] == f"query {name}"[:SPAN_NAME_LENGTH]
    assert operation["attributes"]["graphql.operation.name"] == name[:ATTRIBUTE_LENGTH]
    [server] = [s for s in _trace(receiver, provider, trace_ws) if s["kind"] == "SERVER"]
    assert server["attributes"]["hub.websocket.operation_id"] == socket_id[:ATTRIBUTE_LENGTH]
    assert sql_value(settings.database_url, "select length(operation_name) from hub.audit_log "
                     "where trace_id = $1", trace_http) == len(name)


def test_the_attribute_length_follows_the_standard_variables() -> None:
    from hub.telemetry.tracing import ATTRIBUTE_LENGTH, span_limits

    assert span_limits({}).max_span_attribute_length == ATTRIBUTE_LENGTH
    assert span_limits({"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "100"}).max_span_attribute_length == 100
    both = {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "100", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": "50"}
    assert span_limits(both).max_span_attribute_length == 50
    assert span_limits({"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "lots"}).max_span_attribute_length == ATTRIBUTE_LENGTH
