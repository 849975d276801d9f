"""``hub serve --workers 2``: every scrape of /metrics shows the counters of the whole process tree
(prometheus-client's multiprocess mode, hub.telemetry.metrics), not the one worker that answered it."""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path

import httpx
from prometheus_client.mmap_dict import MmapedDict

from tests.support.database import empty_database
from tests.support.live import free_port, stop_served
from tests.support.workers import metric_samples, serve_two_workers, wait_for, workers

SCRATCH_DB = "hub_test_metrics_workers"
REQUESTS = 40


def _value(samples: list, name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def _probe_count(path: Path) -> float:
    if not path.exists():
        return 0
    return sum(value for key, value, *_ in MmapedDict.read_all_values_from_file(str(path))
               if '"hub_requests_total"' in key and "WorkerProbe" in key)


def test_every_scrape_shows_the_requests_of_both_workers(server_url: str, tmp_path: Path) -> None:
    settings, tokens = empty_database(server_url, SCRATCH_DB)
    port = free_port()
    data_dir, log = tmp_path / "data", tmp_path / "hub.log"
    stale = data_dir / "run" / f"metrics-{port}"
    stale.mkdir(parents=True)
    (stale / "counter_999999.db").write_bytes(b"a previous run's file")  # cleaned at start
    proc = serve_two_workers(settings, data_dir, log, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(log, "Application startup complete", 2, proc)
        headers = {"Authorization": f"Bearer {tokens['labor']}"}

        def one(_: int) -> int:
            # A connection per request, many at once: both workers answer some of them.
            with httpx.Client(base_url=base, timeout=30) as http:
                r = http.post("/graphql", json={"query": "query WorkerProbe { __typename }"}, headers=headers)
                return r.status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert list(pool.map(one, range(REQUESTS))) == [200] * REQUESTS
        time.sleep(1)  # a request is counted just after its response is sent
        scrapes = []
        for _ in range(8):
            with httpx.Client(base_url=base, timeout=30) as http:  # a new connection: either worker answers
                scrapes.append(metric_samples(http.get("/metrics").text))
        for samples in scrapes:
            # The whole tree's requests in every scrape (one worker's share would be less than REQUESTS).
            assert _value(samples, "hub_requests_total", operation="query WorkerProbe", outcome="ok") == REQUESTS
            assert _value(samples, "hub_request_duration_seconds_count", operation="query WorkerProbe",
                          outcome="ok") == REQUESTS
            # The pools of both live workers: two primary pools' capacity.
            assert _value(samples, "hub_db_pool_max_size", pool="primary") == 2 * settings.pool_max_size
            assert _value(samples, "hub_build_info") == 1
        # Each worker answered some of them (its own counter file), so one worker's view would be short.
        shares = {pid: _probe_count(stale / f"counter_{pid}.db") for pid in (w.pid for w in workers(proc))}
        assert len(shares) == 2 and all(shares.values()) and sum(shares.values()) == REQUESTS, shares
        assert not (stale / "counter_999999.db").exists()
        # The scrapes themselves are counted once each, whichever worker answered.
        time.sleep(1)
        last = metric_samples(httpx.get(base + "/metrics", timeout=30).text)
        assert _value(last, "hub_requests_total", operation="/metrics", outcome="ok") == len(scrapes)
        # A worker killed outright: uvicorn starts another; the dead one's requests still count, its pools
        # no longer do (the new worker clears the live gauges of a worker that died without saying so).
        workers(proc)[0].kill()
        wait_for(log, "Application startup complete", 3, proc)
        time.sleep(2)  # twice hub.telemetry.metrics.POOL_REFRESH_SECONDS: the live workers have set their pool gauges
        for _ in range(4):
            with httpx.Client(base_url=base, timeout=30) as http:
                samples = metric_samples(http.get("/metrics").text)
            assert _value(samples, "hub_requests_total", operation="query WorkerProbe", outcome="ok") == REQUESTS
            assert _value(samples, "hub_db_pool_max_size", pool="primary") == 2 * settings.pool_max_size
    finally:
        stop_served(proc)
    assert not stale.exists(), "hub serve leaves its metrics folder behind"
