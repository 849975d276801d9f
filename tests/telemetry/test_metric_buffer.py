"""hub.telemetry.metric_buffer: in prometheus-client's multiprocess mode a worker's counters and histograms are
counted in memory and written to its files at each flush (the refresh loop, a scrape, the worker's end), nothing
lost and nothing counted twice; gauges are written at once. These tests also fail if prometheus-client stops
creating each child's values through ``values.ValueClass`` (the hook the buffer replaces)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

import pytest
from prometheus_client import Counter, values
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from hub.telemetry import metric_buffer
from hub.telemetry.metrics import HubMetrics


@pytest.fixture
def shared_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process in multiprocess mode, as a worker of ``hub serve --workers N`` is (its own files in tmp_path)."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue())
    return folder


def _in_files(folder: Path, name: str, **labels: str) -> float:
    """The value of the series ``name`` written to the worker files (what other workers' scrapes read)."""
    total = 0.0
    for path in folder.glob("*.db"):
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
            _, sample, found, _ = json.loads(key)  # prometheus_client.mmap_dict.mmap_key
            if sample == name and all(found.get(k) == v for k, v in labels.items()):
                total += value
    return total


def _scraped(text: str, name: str, **labels: str) -> float:
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_counts_reach_the_files_at_each_flush_not_at_each_request(shared_dir: Path) -> None:
    metrics = HubMetrics()
    assert metrics.buffer is not None
    # The library created the request counter's value through ValueClass: the buffered class.
    assert isinstance(metrics.requests.labels("query Probe", "ok")._value, values.ValueClass)
    assert getattr(values.ValueClass, "buffer", None) is metrics.buffer
    for _ in range(5):
        metrics.request("query Probe", "ok", 0.003)
    metrics.statement("probe", 0.0004, failed=True)
    # Not written yet (an increment is a lock and an addition, not a write to the mapped file) ...
    assert _in_files(shared_dir, "hub_requests_total", operation="query Probe") == 0
    # ... but the value a reader of this process asks for includes them.
    assert metrics.requests.labels("query Probe", "ok")._value.get() == 5
    metrics.buffer.flush()
    assert _in_files(shared_dir, "hub_requests_total", operation="query Probe", outcome="ok") == 5
    assert _in_files(shared_dir, "hub_request_duration_seconds_count", operation="query Probe") == 0  # no _count
    assert _in_files(shared_dir, "hub_request_duration_seconds_sum", operation="query Probe") == pytest.approx(0.015)
    assert _in_files(shared_dir, "hub_request_duration_seconds_bucket", operation="query Probe", le="0.005") == 5
    assert _in_files(shared_dir, "hub_db_statement_errors_total", statement="probe") == 1
    metrics.buffer.flush()  # nothing counted twice
    assert _in_files(shared_dir, "hub_requests_total", operation="query Probe", outcome="ok") == 5
    # A scrape answered by this worker shows its latest counts: exposition flushes first.
    metrics.request("query Probe", "ok", 0.003)
    text = metrics.exposition().decode()
    assert _scraped(text, "hub_requests_total", operation="query Probe", outcome="ok") == 6
    assert _scraped(text, "hub_request_duration_seconds_count", operation="query Probe", outcome="ok") == 6
    # The worker's end writes what is left.
    metrics.request("query Probe", "ok", 0.003)
    metrics.end_worker()
    assert _in_files(shared_dir, "hub_requests_total", operation="query Probe", outcome="ok") == 7


def test_gauges_are_written_at_once(shared_dir: Path) -> None:
    metrics = HubMetrics()
    metrics.set_feed_lag("all", 12.5)
    metrics.websocket_opened()
    assert _in_files(shared_dir, "hub_sync_feed_lag_seconds", feed="all") == 12.5
    assert _in_files(shared_dir, "hub_websockets_open") == 1


def test_the_refresh_loop_flushes_every_flush_seconds(shared_dir: Path) -> None:
    async def run() -> float:
        metrics = HubMetrics()
        task = metrics.start_worker()
        assert task is not None
        try:
            metrics.request("query Probe", "ok", 0.003)
            await asyncio.sleep(metric_buffer.FLUSH_SECONDS * 3)
            return _in_files(shared_dir, "hub_requests_total", operation="query Probe", outcome="ok")
        finally:
            task.cancel()

    assert asyncio.run(run()) == 1


def test_increments_from_threads_during_flushes_are_all_written_once(shared_dir: Path) -> None:
    metrics = HubMetrics()
    counter = Counter("hub_probe_threads", "threads", registry=metrics.registry)
    per_thread, threads = 20_000, 4
    stop = threading.Event()

    def flusher() -> None:
        while not stop.is_set():
            metrics.buffer.flush()

    def incrementer() -> None:
        for _ in range(per_thread):
            counter.inc()

    background = threading.Thread(target=flusher)
    background.start()
    workers = [threading.Thread(target=incrementer) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    background.join()
    metrics.buffer.flush()
    assert _in_files(shared_dir, "hub_probe_threads_total") == per_thread * threads


def test_one_buffered_class_per_process(shared_dir: Path) -> None:
    first, second = HubMetrics(), HubMetrics()
    assert first.buffer is second.buffer
    assert getattr(values.ValueClass.__mro__[1], "buffer", None) is None  # not wrapped twice


def test_one_process_mode_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setattr(values, "ValueClass", values.MutexValue)
    metrics = HubMetrics()
    assert metrics.buffer is None
    metrics.request("query Probe", "ok", 0.003)
    assert _scraped(metrics.exposition().decode(), "hub_requests_total", operation="query Probe") == 1


def test_a_forked_child_does_not_write_its_parents_pending_counts(shared_dir: Path) -> None:
    metrics = HubMetrics()
    metrics.request("query Probe", "ok", 0.003)  # pending in the parent when it forks
    pid = os.fork()
    if pid == 0:  # the child: its flush must not write the parent's count into a file of its own
        try:
            metrics.request("query Child", "ok", 0.003)  # counted before its first flush: dropped with the parent's
            metrics.buffer.flush()
            metrics.request("query Child", "ok", 0.003)
            metrics.buffer.flush()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    metrics.buffer.flush()
    assert _in_files(shared_dir, "hub_requests_total", operation="query Probe") == 1
    assert _in_files(shared_dir, "hub_requests_total", operation="query Child") == 1
