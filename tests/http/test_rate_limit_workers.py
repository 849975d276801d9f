"""The per-consumer rate limit holds for one host whatever the number of workers (hub.http.rate_table).

A real ``hub serve --workers 2`` must accept exactly one burst from one consumer (not one per worker);
the shared table must count the requests of several processes as one; a fresh run starts from a fresh
table, a worker that maps the table again keeps the counts.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import pytest

from hub.errors import SetupError
from hub.http.limits import TokenBuckets
from hub.http.rate_table import PROBE, RateTable, create_for_server, fingerprint
from tests.support.database import empty_database
from tests.support.live import serve_workers, stop_served, worker_processes

SCRATCH_DB = "hub_test_rate_workers"
BURST = 10
RATE = 0.001  # one token per 1000 s: during the test, only the burst counts


def _take_many(path: str, key: int, n: int, start, results) -> None:
    buckets = TokenBuckets(RATE, BURST, table=RateTable.open(Path(path)))
    start.wait()
    results.put(sum(1 for _ in range(n) if buckets.take(key) == 0.0))


def test_the_table_counts_the_requests_of_every_process(tmp_path: Path) -> None:
    path = tmp_path / "rate.table"
    RateTable.create(path).close()
    ctx = multiprocessing.get_context("spawn")  # like uvicorn's workers
    start, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_take_many, args=(str(path), 7, BURST, start, results)) for _ in range(4)]
    for proc in procs:
        proc.start()
    allowed = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    # 4 processes asked for 4 bursts at once; one burst in all was allowed (per-process buckets: 4 x 10).
    assert sum(allowed) == BURST, allowed
    # Another key has its own bucket in the same table.
    other = TokenBuckets(RATE, BURST, table=RateTable.open(path))
    assert [other.take(8) for _ in range(BURST)] == [0.0] * BURST
    # A process that maps the table again (a restarted worker) sees the counts.
    assert other.take(7) > 0


def test_a_worker_stopped_holding_the_tables_lock_does_not_stall_the_others(tmp_path: Path) -> None:
    """A worker stopped (SIGSTOP, a debugger) while it holds a window's lock must not stall every other worker's event
    loop for as long as it stays stopped: another worker's request waits ``LOCK_WAIT_SECONDS`` at most, is counted
    without the lock and allowed, and a warning says so. (The other worker runs in a process of its own, so that
    a take blocked for good, as before, fails the test instead of hanging it.)"""
    path = tmp_path / "rate.table"
    RateTable.create(path).close()
    hold = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX, 0, 0); "
            "print('locked', flush=True); sys.stdin.read()")
    stuck = subprocess.Popen([sys.executable, "-c", hold, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    take = ("import logging, sys, time; logging.basicConfig(level=logging.WARNING, stream=sys.stdout); "
            "from pathlib import Path; from hub.http.rate_table import RateTable; "
            "table = RateTable.open(Path(sys.argv[1])); started = time.monotonic(); "
            "wait = table.take(7, 0.001, 10); print('took', wait, round(time.monotonic() - started, 3), flush=True)")
    try:
        assert stuck.stdout is not None and stuck.stdout.readline().strip() == "locked"  # the whole file, to its end
        stuck.send_signal(signal.SIGSTOP)
        other = subprocess.run([sys.executable, "-c", take, str(path)], capture_output=True, text=True, timeout=20)
        assert "lock was not had within 0.05 s" in other.stdout, other.stdout + other.stderr
        took = [line.split() for line in other.stdout.splitlines() if line.startswith("took")]
        assert took and float(took[0][1]) == 0.0 and float(took[0][2]) < 1.0, other.stdout
    finally:
        stuck.kill()
        stuck.wait(timeout=10)


def test_a_fresh_table_forgets_the_previous_run(tmp_path: Path) -> None:
    path = create_for_server(tmp_path, 8123)
    assert path == tmp_path / "run" / "rate-limit-8123.table"
    old = TokenBuckets(RATE, 1, table=RateTable.open(path))
    assert [old.take(1), old.take(1) > 0] == [0.0, True]
    assert create_for_server(tmp_path, 8123) == path  # the next run of the server on that port
    fresh = TokenBuckets(RATE, 1, table=RateTable.open(path))
    assert fresh.take(1) == 0.0
    assert old.take(1) > 0  # the old run's mapping is left alone (a new file was renamed over the path)


def test_without_a_writable_data_dir_the_table_goes_to_the_temporary_directory(tmp_path: Path,
                                                                                 monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("a file where the data directory should be")
    path = create_for_server(not_a_dir, 8124)
    assert path == tmp_path / "tmp" / f"hub-{os.geteuid()}" / "rate-limit-8124.table"  # this user's own folder
    assert (path.parent.stat().st_mode & 0o777, path.stat().st_mode & 0o777) == (0o700, 0o600)
    assert TokenBuckets(RATE, 1, table=RateTable.open(path)).take(1) == 0.0


def test_a_file_that_is_not_a_table_is_a_setup_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.table"
    bad.write_bytes(b"x" * 4096)
    bad.chmod(0o600)  # a run file's mode (hub.run_dir): the content is what is wrong
    with pytest.raises(SetupError, match="not a rate-limit table"):
        RateTable.open(bad)
    with pytest.raises(SetupError, match="cannot open"):
        RateTable.open(tmp_path / "missing.table")


def test_a_full_window_gives_the_fullest_bucket_to_the_new_key() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=1.0, burst=2, clock=lambda: now[0], max_keys=PROBE)  # one window in all
    keys = list(range(PROBE + 1))
    for i, key in enumerate(keys[:PROBE]):
        now[0] = i * 0.01
        assert buckets.take(key) == 0.0  # each bucket holds one token; key 0's refills first
    assert len(buckets) == PROBE
    now[0] = 0.5
    assert buckets.take(keys[PROBE]) == 0.0  # takes key 0's slot, the fullest bucket
    assert len(buckets) == PROBE
    assert [buckets.take(keys[PROBE]), buckets.take(keys[PROBE]) > 0] == [0.0, True]  # its own bucket of 2
    assert buckets.take(keys[1]) == 0.0 and buckets.take(keys[1]) > 0  # the others kept their counts
    assert buckets.take(keys[0]) == 0.0  # key 0 starts over with a full bucket: at most one burst extra


def test_fingerprints_are_the_same_in_every_process() -> None:
    code = "from hub.http.rate_table import fingerprint; print(fingerprint('consumer-7'), fingerprint(7))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "random"}).stdout.split()
    assert [int(x) for x in out] == [fingerprint("consumer-7"), fingerprint(7)]


# -- a real server with two workers ---------------------------------------------------------------------


def _workers(proc: subprocess.Popen) -> list[psutil.Process]:
    return worker_processes(proc)


def _serve(settings, data_dir: Path, log_path: Path, workers: int) -> tuple[subprocess.Popen, str]:
    return serve_workers(settings.database_url, data_dir, log_path, workers, HUB_RATE_LIMIT_PER_SECOND=str(RATE),
                         HUB_RATE_LIMIT_BURST=str(BURST))


def _stop(proc: subprocess.Popen) -> None:
    stop_served(proc)


def test_two_workers_allow_one_burst_per_consumer_not_two(server_url: str, tmp_path: Path) -> None:
    settings, tokens = empty_database(server_url, SCRATCH_DB)
    proc, base = _serve(settings, tmp_path / "data", tmp_path / "hub.log", workers=2)
    table = tmp_path / "data" / "run" / f"rate-limit-{base.rsplit(':', 1)[1]}.table"
    try:
        assert table.exists()
        body = {"query": "{ __typename }"}

        def one(token: str) -> int:
            # A connection per request, many at once: the two workers both accept some of them.
            with httpx.Client(base_url=base, timeout=30) as http:
                return http.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"}).status_code

        with concurrent.futures.ThreadPoolExecutor(24) as pool:
            statuses = list(pool.map(one, [tokens["labor"]] * (4 * BURST)))
        assert sorted(set(statuses)) == [200, 429]
        assert statuses.count(200) == BURST, statuses  # one burst for the host, not one per worker
        # Another consumer has its own whole burst.
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            others = list(pool.map(one, [tokens["commerce"]] * (BURST + 4)))
        assert others.count(200) == BURST, others
        # uvicorn replaces a worker that dies; the new one maps the same table: the counts are kept.
        log = tmp_path / "hub.log"
        _workers(proc)[0].kill()
        deadline = time.monotonic() + 120
        while log.read_text().count("Application startup complete") < 3:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            after = list(pool.map(one, [tokens["labor"]] * (2 * BURST)))
        assert after == [429] * (2 * BURST), after
    finally:
        _stop(proc)
    assert not table.exists(), "hub serve leaves its rate-limit table behind"
