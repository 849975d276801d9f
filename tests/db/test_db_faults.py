"""Database faults on a PostgreSQL of this module's own (tests/support/pgserver.py), never the shared server.

* Under load, PostgreSQL is stopped and started again: while it is down every request fails fast (503,
  SERVICE_UNAVAILABLE, within the connect/acquire timeouts) and ``/readyz`` reports it; once it is back the
  hub recovers by itself within 5 s, without a restart.
* An ingest interrupted by the outage leaves no partial batch; retrying it with the same Idempotency-Key
  applies it exactly once.
* A hub process killed with SIGKILL in the middle of an ingest loses no batch it acknowledged; the batch
  in flight is all or nothing and its retry applies once.

The measured figures are printed (``pytest -s tests/db/test_db_faults.py``)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from hub.app import create_app
from hub.settings import Settings
from tests.support.database import prepare, with_database
from tests.support.helpers import sql, sql_value
from tests.support.live import free_port, serve_in_thread
from tests.support.pgserver import ScratchPostgres

FAIL_FAST_MS = 1_000  # connect and pool-acquire timeouts of the hub under test
RECOVERY_SECONDS = 5.0
DATASET = "labor.training_programs"


@pytest.fixture(scope="module")
def faultdb():
    """(server, settings, tokens): a private PostgreSQL with a migrated hub database holding the small demo."""
    pg = ScratchPostgres().init()
    pg.start()
    try:
        settings = replace(Settings.from_env({"HUB_ENV": "test"}),
                           database_url=with_database(pg.url(), "hub_test_faults"), policy_cache_seconds=600.0,
                           rate_limit_per_second=0.0, db_connect_timeout_ms=FAIL_FAST_MS,
                           pool_acquire_timeout_ms=FAIL_FAST_MS, pool_min_size=2, pool_max_size=4)
        tokens = asyncio.run(prepare(settings, pg.url(), "hub_test_faults"))
        yield pg, settings, tokens
    finally:
        pg.destroy()


def _ensure_up(pg: ScratchPostgres) -> None:
    if not pg.running():
        pg.start()


# --- outage under load ------------------------------------------------------------------------------

QUERIES = [
    {"query": "{ industries(first: 5) { nodes { code name } } }"},
    {"query": "query Q($c: String) { occupations(first: 3, codePrefix: $c) { nodes { code postingCount } } }",
     "variables": {"c": "6-"}},
    {"query": "{ jobPostings(first: 5) { nodes { title enterprise { name } } } }"},
]


def _codes(response: httpx.Response) -> set[str]:
    try:
        return {e["extensions"]["code"] for e in response.json().get("errors", [])}
    except ValueError:
        return {"<not json>"}


async def _outage_scenario(base: str, pg: ScratchPostgres, token: str) -> dict:
    loop = asyncio.get_running_loop()
    results: list[tuple[float, float, int | None, set[str]]] = []
    marks: dict[str, float] = {}
    running = True
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        async def worker(i: int) -> None:
            while running:
                started = time.monotonic()
                try:
                    response = await http.post("/graphql", json=QUERIES[i % len(QUERIES)])
                    results.append((started, time.monotonic(), response.status_code, _codes(response)))
                except httpx.HTTPError as exc:
                    results.append((started, time.monotonic(), None, {type(exc).__name__}))
                await asyncio.sleep(0.005)

        workers = [asyncio.create_task(worker(i)) for i in range(8)]
        await asyncio.sleep(0.6)
        marks["stopping"] = time.monotonic()
        await loop.run_in_executor(None, pg.stop)
        marks["down"] = time.monotonic()
        await asyncio.sleep(0.5)
        marks["ready_down"] = (await http.get("/readyz")).json()
        unknown = await http.post("/graphql", json=QUERIES[0], headers={"Authorization": "Bearer not-cached"})
        marks["unknown_token"] = (unknown.status_code, _codes(unknown), unknown.headers.get("retry-after"))
        await asyncio.sleep(1.0)
        marks["starting"] = time.monotonic()
        await loop.run_in_executor(None, pg.start)
        marks["up"] = time.monotonic()
        # Keep the load on until 1.5 s after the first success (or the recovery deadline has passed).
        deadline = marks["up"] + RECOVERY_SECONDS + 0.5
        while time.monotonic() < deadline:
            ok = [r[1] for r in results if r[0] >= marks["up"] and r[2] == 200 and not r[3]]
            if ok and time.monotonic() > min(ok) + 1.5:
                break
            await asyncio.sleep(0.1)
        ready = await http.get("/readyz")
        marks["ready_up"] = (ready.status_code, ready.json())
        running = False
        await asyncio.gather(*workers)
    return {"results": results, **marks}


def test_outage_fails_fast_and_recovers(faultdb) -> None:
    pg, settings, tokens = faultdb
    _ensure_up(pg)
    with serve_in_thread(create_app(settings)) as base:
        run = asyncio.run(_outage_scenario(base, pg, tokens["labor"]))
        # No restart of the hub: the same process serves the whole run.
    results = run["results"]
    before = [r for r in results if r[1] < run["stopping"]]
    during = [r for r in results if r[0] >= run["down"] and r[1] <= run["starting"]]
    after = [r for r in results if r[0] >= run["up"]]
    assert before and all(r[2] == 200 and not r[3] for r in before), before[:3]
    assert during, "no request was made while PostgreSQL was down"
    assert all(r[2] == 503 and r[3] == {"SERVICE_UNAVAILABLE"} for r in during), \
        {(r[2], tuple(r[3])) for r in during}
    fail_ms = max(r[1] - r[0] for r in during) * 1000
    assert fail_ms < FAIL_FAST_MS + 500, f"a request took {fail_ms:.0f} ms to fail while the database was down"
    slowest = max(r[1] - r[0] for r in results)
    assert slowest < 2 * FAIL_FAST_MS / 1000 + 1, f"a request hung for {slowest:.1f} s"
    first_ok = min((r[1] for r in after if r[2] == 200 and not r[3]), default=None)
    assert first_ok is not None, "the hub never recovered"
    recovery = first_ok - run["up"]
    assert recovery < RECOVERY_SECONDS, f"recovered only after {recovery:.1f} s"
    settled = [r for r in after if r[0] >= first_ok + 0.1]  # once recovered, no failure any more
    assert settled and all(r[2] == 200 and not r[3] for r in settled), {(r[2], tuple(r[3])) for r in settled}
    ready_down = run["ready_down"]
    assert ready_down["status"] == "unavailable" and "unavailable" in " ".join(ready_down["databases"].values())
    assert run["unknown_token"] == (503, {"SERVICE_UNAVAILABLE"}, "1")
    assert run["ready_up"][0] == 200 and run["ready_up"][1]["status"] == "ready"
    print(f"\noutage: {len(during)} requests failed fast (slowest {fail_ms:.0f} ms, SERVICE_UNAVAILABLE); "
          f"recovered {recovery * 1000:.0f} ms after PostgreSQL was back; {len(results)} requests in all")


def test_a_websocket_with_a_header_token_the_database_cannot_check_is_refused_with_503(faultdb, caplog) -> None:
    """As an HTTP request: 503 SERVICE_UNAVAILABLE with Retry-After on the upgrade request (the ASGI denial
    response), not a traceback (an http.response message on a websocket) and a 500."""
    pg, settings, _tokens = faultdb
    with serve_in_thread(create_app(settings)) as base:
        pg.stop()
        try:
            async def attempt() -> InvalidStatus | None:
                try:
                    async with connect(base.replace("http://", "ws://") + "/graphql", open_timeout=30,
                                       subprotocols=["graphql-transport-ws"],
                                       additional_headers={"Authorization": "Bearer not-cached-either"}):
                        return None
                except InvalidStatus as refused:
                    return refused

            with caplog.at_level(logging.ERROR):
                refused = asyncio.run(attempt())
        finally:
            _ensure_up(pg)
    assert refused is not None
    response = refused.response
    assert (response.status_code, response.headers.get("retry-after")) == (503, "1"), response
    assert orjson.loads(response.body)["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    # No traceback. (uvicorn's websockets-sansio still logs "ASGI callable returned without completing handshake"
    # after any denial response, without a traceback: its bug, Kludex/uvicorn pull request 3138.)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info], caplog.text


# --- ingest: interrupted by the outage, and a SIGKILLed hub -------------------------------------------

def _rows(prefix: int, count: int, occupation: str, district: str) -> list[dict]:
    return [{"code": f"TP{prefix + i:06d}", "name": f"fault drill program {prefix + i}", "occupation_code": occupation,
             "provider": "fault drill", "seats": 10 + i % 7, "district_code": district, "starts_on": "2025-03-01",
             "ends_on": "2025-06-30"} for i in range(count)]


def _ndjson(rows: list[dict]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


def _reference_codes(settings) -> tuple[str, str]:
    occupation = sql_value(settings.database_url, "select code from labor.occupations order by code limit 1")
    district = sql_value(settings.database_url, "select code from hub.districts where code ~ '^[1-9][0-9]{5}$' "
                                                "order by code desc limit 1")
    return occupation, district


def _applied(settings, prefix: int, count: int) -> int:
    return sql_value(settings.database_url, "select count(*) from labor.training_programs where code between $1 and $2",
                     f"TP{prefix:06d}", f"TP{prefix + count - 1:06d}")


def _batches(settings, key: str) -> int:
    return sql_value(settings.database_url, "select count(*) from hub_sync.ingest_batches where idempotency_key = $1",
                     key)


def _ingest(http, key: str, body) -> httpx.Response:
    return http.post(f"/ingest/{DATASET}", content=body, headers={"content-type": "application/x-ndjson",
                                                                  "idempotency-key": key})


def test_ingest_interrupted_by_outage_is_all_or_nothing(faultdb) -> None:
    pg, settings, tokens = faultdb
    _ensure_up(pg)
    occupation, district = _reference_codes(settings)
    prefix, count, key = 700_000, 4_000, "fault-drill-outage"
    body = _ndjson(_rows(prefix, count, occupation, district))
    headers = {"Authorization": f"Bearer {tokens['labor']}"}

    async def interrupted(base: str) -> int | None:
        async def slow_body():
            step = len(body) // 20
            for i in range(0, len(body), step):
                if i >= len(body) // 2 and pg.running():
                    await asyncio.get_running_loop().run_in_executor(None, pg.stop)  # mid-batch
                yield body[i:i + step]
                await asyncio.sleep(0.02)

        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            try:
                response = await http.post(f"/ingest/{DATASET}", content=slow_body(),
                                            headers={"content-type": "application/x-ndjson", "idempotency-key": key})
            except httpx.HTTPError:
                return None
            assert response.status_code == 503, response.text
            assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            return response.status_code

    with serve_in_thread(create_app(settings)) as base:
        asyncio.run(interrupted(base))
        pg.start()
        assert _applied(settings, prefix, count) == 0 and _batches(settings, key) == 0, "a partial batch was kept"
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            deadline = time.monotonic() + RECOVERY_SECONDS
            while True:  # the hub reconnects by itself; the client retries the same batch with the same key
                retried = _ingest(http, key, body)
                if retried.status_code != 503 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert retried.status_code == 200, retried.text
            report = retried.json()
            assert (report["inserted"], report["rejected"], report["replayed"]) == (count, 0, False)
            again = _ingest(http, key, body).json()
            assert again["replayed"] is True and again["inserted"] == count and again["batchId"] == report["batchId"]
    assert _applied(settings, prefix, count) == count and _batches(settings, key) == 1


def _hub_process(settings, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": settings.database_url, "HUB_ENV": "test", "HUB_RATE_LIMIT_PER_SECOND": "0",
           "OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none",
           "HUB_LOG_LEVEL": "warning", "HUB_COMPILED_QUERIES": "false"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "hub"), "serve", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log_path.read_text()
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the hub did not start: {log_path.read_text()}")


def test_sigkill_mid_ingest_loses_nothing_acknowledged(faultdb, tmp_path) -> None:
    pg, settings, tokens = faultdb
    _ensure_up(pg)
    occupation, district = _reference_codes(settings)
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    small = [(800_000 + 100 * i, 50, f"fault-drill-kill-{i}") for i in range(6)]
    big_prefix, big_count, big_key = 810_000, 6_000, "fault-drill-kill-big"
    big = _ndjson(_rows(big_prefix, big_count, occupation, district))
    proc, base = _hub_process(settings, tmp_path / "hub.log")
    acknowledged = []
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            for prefix, count, key in small:
                response = _ingest(http, key, _ndjson(_rows(prefix, count, occupation, district)))
                assert response.status_code == 200, response.text
                acknowledged.append((prefix, count, key))

            def killing_body():
                step = len(big) // 10
                for i in range(0, len(big), step):
                    if i >= len(big) // 2 and proc.poll() is None:
                        os.kill(proc.pid, signal.SIGKILL)  # mid-batch: the body is half sent
                        proc.wait(timeout=10)
                    yield big[i:i + step]

            with pytest.raises(httpx.HTTPError):
                _ingest(http, big_key, killing_body())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    for prefix, count, key in acknowledged:
        assert _applied(settings, prefix, count) == count and _batches(settings, key) == 1, key
    in_flight = _applied(settings, big_prefix, big_count)
    assert in_flight == 0 and _batches(settings, big_key) == 0, "the killed batch was partly kept"
    leftover = sql(settings.database_url, "select pid from pg_stat_activity where application_name = "
                                          "'talent-data-hub' and state like 'idle in transaction%'")
    assert not leftover, "the killed hub's transaction is still open"
    with serve_in_thread(create_app(settings)) as restarted, \
            httpx.Client(base_url=restarted, headers=headers, timeout=60) as http:
        first = _ingest(http, big_key, big).json()
        assert (first["inserted"], first["replayed"]) == (big_count, False)
        assert _ingest(http, big_key, big).json()["replayed"] is True
        for prefix, count, key in acknowledged:  # an acknowledged batch retried: replayed, nothing re-applied
            assert _ingest(http, key, _ndjson(_rows(prefix, count, occupation, district))).json()["replayed"] is True
    assert _applied(settings, big_prefix, big_count) == big_count and _batches(settings, big_key) == 1
