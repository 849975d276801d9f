"""Metrics (GET /metrics, Prometheus text format) and structured logs (JSON access line, errors with ids)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from dataclasses import replace
from typing import Any, Iterator

import asyncpg
import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from hub.app import create_app
from hub.db.pools import Department, PoolGauge, SqlRegistry, Stats
from hub.telemetry.logs import JsonFormatter, configure_logging
from hub.telemetry.metrics import OperationLabels

NESTED = """query MetricsProbe { occupations(first: 3) { nodes { code
  postings(first: 2) { nodes { title enterprise { name } } } } } }"""


@pytest.fixture()
def client(settings, tokens) -> Iterator[TestClient]:
    """A fresh app (its own registry) as the labor consumer."""
    with TestClient(create_app(settings)) as c:
        c.headers["Authorization"] = f"Bearer {tokens['labor']}"
        yield c


def _samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_latency_and_errors_by_operation_and_outcome(client) -> None:
    assert client.post("/graphql", json={"query": NESTED}).status_code == 200
    client.post("/graphql", json={"query": "query Oversized { occupations(first: 100000) { nodes { code } } }"})
    assert client.post("/graphql", json={"query": "{ occupations { nodes { code } } }"},
                       headers={"Authorization": "Bearer wrong"}).status_code == 401
    samples = _samples(client)
    assert _value(samples, "hub_requests_total", operation="query MetricsProbe", outcome="ok") == 1
    assert _value(samples, "hub_request_duration_seconds_count", operation="query MetricsProbe", outcome="ok") == 1
    assert _value(samples, "hub_request_duration_seconds_sum", operation="query MetricsProbe", outcome="ok") > 0
    assert _value(samples, "hub_requests_total", operation="query Oversized", outcome="error") == 1
    assert _value(samples, "hub_requests_total", operation="/graphql", outcome="denied") == 1
    assert _value(samples, "hub_errors_total", code="BAD_USER_INPUT") == 1
    assert _value(samples, "hub_errors_total", code="UNAUTHENTICATED") == 1


def test_pool_loader_and_statement_metrics(client, settings) -> None:
    client.post("/graphql", json={"query": NESTED})
    samples = _samples(client)
    assert _value(samples, "hub_db_pool_size", pool="primary") >= 1
    assert _value(samples, "hub_db_pool_max_size", pool="primary") == settings.pool_max_size
    assert ("hub_db_pool_in_use", (("pool", "primary"),)) in samples
    assert _value(samples, "hub_db_pool_waiting", pool="primary") == 0
    assert _value(samples, "hub_dataloader_batch_size_count", loader="PostingsByOccupationLoader") == 1
    assert _value(samples, "hub_dataloader_batch_size_sum", loader="PostingsByOccupationLoader") == 3
    assert _value(samples, "hub_db_statement_duration_seconds_count", statement="labor/postings_by_occupation") == 1
    # Defined for /ingest and /sync, and fed through HubMetrics.
    client.app.state.metrics.record_ingest("labor.job_postings", accepted=7, rejected=2)
    client.app.state.metrics.set_feed_lag("all", 1.5)
    samples = _samples(client)
    assert _value(samples, "hub_ingested_rows_total", dataset="labor.job_postings") == 7
    assert _value(samples, "hub_ingest_rejected_rows_total", dataset="labor.job_postings") == 2
    assert _value(samples, "hub_sync_feed_lag_seconds", feed="all") == 1.5


def test_each_app_has_its_own_registry(settings, tokens) -> None:
    apps = [create_app(settings) for _ in range(2)]  # would raise "Duplicated timeseries" on one registry
    with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
        a.get("/healthz")
        assert _value(_samples(a), "hub_requests_total", operation="/healthz", outcome="ok") == 1
        assert _value(_samples(b), "hub_requests_total", operation="/healthz", outcome="ok") == 0


def test_operation_labels_are_capped() -> None:
    labels = OperationLabels(limit=2)
    assert [labels("query A"), labels("query B"), labels("query C"), labels("query A")] == [
        "query A", "query B", "other", "query A"]
    assert labels("query {x}") == "other" and OperationLabels(5)('query "evil"\n') == "query _evil__"


def test_waiting_for_a_connection_is_counted(settings) -> None:
    async def go() -> None:
        pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=1)
        gauge = PoolGauge("primary", pool)
        dept = Department("labor", pool, SqlRegistry(), Stats(), gauge=gauge)
        try:
            held = await pool.acquire()
            waiting = asyncio.ensure_future(dept.fetch("labor/occupations_by_code", ["1-01-00-01"]))
            await asyncio.sleep(0.05)
            assert gauge.waiting == 1
            await pool.release(held)
            await waiting
            assert gauge.waiting == 0
        finally:
            await pool.close()

    asyncio.run(go())


def test_one_json_access_line_per_request(client, caplog) -> None:
    caplog.set_level(logging.INFO, logger="hub.access")
    response = client.post("/graphql", json={"query": NESTED})
    client.get("/healthz")
    lines = [r for r in caplog.records if r.name == "hub.access"]
    assert len(lines) == 2
    fields = lines[0].fields
    _, trace_id, span_id, _ = response.headers["traceresponse"].split("-")
    assert fields["operation"] == "query MetricsProbe" and fields["status"] == 200 and fields["outcome"] == "ok"
    assert fields["department"] == "labor" and fields["consumer"] and fields["duration_ms"] > 0
    assert (fields["trace_id"], fields["span_id"]) == (trace_id, span_id)
    assert lines[1].fields["operation"] == "/healthz" and lines[1].fields["consumer"] is None
    entry = json.loads(JsonFormatter().format(lines[0]))
    assert entry["logger"] == "hub.access" and entry["trace_id"] == trace_id and entry["level"] == "info"


def test_unexpected_errors_are_logged_once_with_trace_and_reference(client, caplog, monkeypatch) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the labor database exploded")

    monkeypatch.setattr(client.app.state.db.departments["labor"], "_run", broken)
    caplog.set_level(logging.INFO)
    body = client.post("/graphql", json={"query": "{ occupations(first: 1) { nodes { code } } }"}).json()
    [error] = body["errors"]
    reference = error["extensions"]["reference"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR" and "exploded" not in error["message"]
    logged = [r for r in caplog.records if r.name == "hub.errors"]
    assert len(logged) == 1
    assert logged[0].fields["reference"] == reference
    assert logged[0].fields["trace_id"] == body["extensions"]["traceId"]
    entry = json.loads(JsonFormatter().format(logged[0]))
    assert entry["reference"] == reference and "exploded" in entry["exception"]
    [access] = [r for r in caplog.records if r.name == "hub.access"]
    assert access.fields["error_codes"] == ["INTERNAL_SERVER_ERROR"] and access.fields["outcome"] == "error"


def test_json_formatter_adds_the_current_trace() -> None:
    stream = io.StringIO()
    root, access = logging.getLogger(), logging.getLogger("hub.access")
    saved = (list(root.handlers), root.level, access.level)
    configure_logging("info", "json", stream=stream)
    try:
        tracer = TracerProvider().get_tracer("test")
        with tracer.start_as_current_span("work") as span:
            logging.getLogger("hub.test").warning("inside %s", "a span", extra={"fields": {"rows": 3}})
        entry = json.loads(stream.getvalue().splitlines()[-1])
        assert entry["message"] == "inside a span" and entry["rows"] == 3 and entry["level"] == "warning"
        assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")
        assert entry["ts"].endswith("Z")
    finally:  # give pytest its handlers back
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        access.setLevel(saved[2])


def test_metrics_can_be_turned_off(settings) -> None:
    with TestClient(create_app(replace(settings, metrics=False))) as c:
        assert c.get("/metrics").status_code == 404
