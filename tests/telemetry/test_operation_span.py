"""One operation span for both paths: the compiled path (``hub.api.compiled``) writes its operation span, error
metrics and access-log operation through ``hub.api.telemetry.operation_scope``, the code ``OperationSpan`` uses
on the general path, so the two agree for the same document — success, hand-over to the general path, and
cancellation alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import Any, Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from starlette.requests import Request
from starlette.testclient import TestClient

from hub.app import create_app
from hub.governance.consumers import Consumer, hash_token
from hub.telemetry.observe import RequestInfo

QUERY = """query SpanProbe($n: Int = 3) { occupations(first: $n) { nodes { code postingCount
    postings(first: 2) { nodes { title enterprise { name industry { code majors { code } } } } } } } }"""
# Seekers are CONDITIONAL: science holds no grant, so the plan hands the operation to the general path (FORBIDDEN).
DENIED = "query SeekersProbe { occupations(first: 2) { nodes { code seekers(first: 2) { nodes { id } } } } }"


@pytest.fixture()
def apps(settings) -> Iterator[tuple[TestClient, TestClient]]:
    """Two fresh apps, with and without the compiled path, each keeping its spans in memory (``.exported``)."""
    with contextlib.ExitStack() as stack:
        clients = []
        for compiled in (True, False):
            exported = InMemorySpanExporter()
            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(exported))
            client = stack.enter_context(TestClient(create_app(replace(settings, compiled_queries=compiled),
                                                               tracer_provider=provider)))
            client.exported = exported
            clients.append(client)
        yield clients[0], clients[1]


def _operation_spans(client: TestClient, trace_id: str) -> list[Any]:
    return [s for s in client.exported.get_finished_spans()
            if format(s.context.trace_id, "032x") == trace_id and s.kind.name == "INTERNAL"
            and not s.name.startswith("dataloader ") and s.name != "audit"]


def _on_both(apps: tuple[TestClient, TestClient], token: str, query: str) -> tuple[bool, list[tuple[dict, list]]]:
    """The query on the compiled app, then on the general one: whether a plan answered it, and each app's response
    body and operation spans."""
    compiled = apps[0].app.router.routes[0].endpoint.compiled
    before = compiled.answered
    answers = []
    for client in apps:
        response = client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        body = response.json()
        answers.append((body, _operation_spans(client, body["extensions"]["traceId"])))
    return compiled.answered == before + 1, answers


def test_both_paths_write_the_same_operation_span(apps, tokens, caplog) -> None:
    caplog.set_level(logging.INFO, logger="hub.access")
    planned, [(a, [fast]), (b, [slow])] = _on_both(apps, tokens["labor"], QUERY)
    assert planned and a["data"] == b["data"]
    assert fast.name == slow.name == "query SpanProbe"
    assert dict(fast.attributes) == {**slow.attributes, "hub.compiled": True}
    assert fast.status.status_code == slow.status.status_code == StatusCode.UNSET
    assert fast.attributes["hub.cost"] > 0 and "hub.consumer.id" in fast.attributes
    access = [r.fields for r in caplog.records if r.name == "hub.access"]
    assert [(f["operation"], f["outcome"]) for f in access] == [("query SpanProbe", "ok")] * 2


def test_a_plan_that_falls_back_hands_its_span_over_to_the_general_path(apps, tokens, caplog) -> None:
    caplog.set_level(logging.INFO, logger="hub.access")
    planned, [(body, spans), (general_body, _)] = _on_both(apps, tokens["science"], DENIED)
    assert not planned and general_body["errors"] == body["errors"]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    handed, answered = sorted(spans, key=lambda s: s.start_time)
    assert handed.name == "compiled plan (fell back)" and answered.name == "query SeekersProbe"
    assert handed.parent.span_id == answered.parent.span_id  # both under the HTTP span
    assert handed.attributes["hub.compiled"] is True and handed.attributes["hub.compiled.fallback"] is True
    assert handed.attributes["graphql.document.hash"] == answered.attributes["graphql.document.hash"]
    assert "hub.error_codes" not in handed.attributes and handed.status.status_code == StatusCode.UNSET
    assert answered.attributes["hub.error_codes"] == ("FORBIDDEN",) and "hub.compiled" not in answered.attributes
    # The operation is counted and logged once, by the path that answered it.
    [handed_log, general_log] = [r.fields for r in caplog.records if r.name == "hub.access"]
    assert handed_log["operation"] == "query SeekersProbe" and handed_log["error_codes"] == ["FORBIDDEN"]
    assert (handed_log["operation"], handed_log["outcome"]) == (general_log["operation"], general_log["outcome"])
    counted = [client.app.state.metrics.errors.labels("FORBIDDEN")._value.get() for client in apps]
    assert counted[0] == counted[1] == len(body["errors"])


def test_a_cancelled_compiled_query_is_recorded_as_the_general_path_records_it(apps, tokens) -> None:
    """A request cancelled while its plan reads (the client went away): the operation span says CANCELLED, the
    error is counted and the access log names the operation and its code, as ``OperationSpan`` does."""
    planned = apps[0]
    app = planned.app
    endpoint = app.router.routes[0].endpoint
    found = endpoint.compiled.lookup({"query": QUERY})
    assert found is not None

    async def cancel_while_reading() -> RequestInfo:
        row = await app.state.db.hub.fetchrow("hub/consumer_by_token_hash", hash_token(tokens["labor"]))
        info = RequestInfo()
        request = Request({"type": "http", "app": app, "method": "POST", "path": "/graphql", "headers": [],
                           "query_string": b"", "hub.consumer": Consumer(row["id"], row["department"], row["name"],
                                                                         row["role"]), "hub.request": info})
        ctx = await endpoint.get_context(request, None)
        with app.state.telemetry.tracer.start_as_current_span("POST /graphql"):
            answering = asyncio.ensure_future(endpoint.compiled.answer(ctx, found))
            await asyncio.sleep(0)  # the plan runs up to its first statement
            answering.cancel()
            with pytest.raises(asyncio.CancelledError):
                await answering
        return info

    info = planned.portal.call(cancel_while_reading)
    [span] = [s for s in planned.exported.get_finished_spans() if s.name == "query SpanProbe"]
    assert span.attributes["hub.compiled"] is True and span.attributes["hub.error_codes"] == ("CANCELLED",)
    assert span.status.status_code == StatusCode.ERROR
    assert (info.operations, info.codes) == (["query SpanProbe"], ["CANCELLED"])
    assert app.state.metrics.errors.labels("CANCELLED")._value.get() == 1
