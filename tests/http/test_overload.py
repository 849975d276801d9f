"""Overload: beyond the requests in flight and a bounded queue, a fast 503 with Retry-After (hub.http.overload)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import asyncpg
import httpx

from hub.app import create_app
from hub.http.overload import Admission, OverloadMiddleware
from hub.settings import Settings, SettingsError
from tests.support.live import serve_in_thread


def test_admission_queues_fifo_then_refuses() -> None:
    async def go() -> None:
        admission = Admission(max_in_flight=2, max_queued=2, queue_timeout=5.0)
        assert await admission.acquire() is None and await admission.acquire() is None
        order: list[int] = []

        async def wait(i: int) -> None:
            assert await admission.acquire() is None
            order.append(i)

        waiting = [asyncio.create_task(wait(i)) for i in range(2)]
        await asyncio.sleep(0)
        assert len(admission.waiters) == 2
        assert await admission.acquire() == "maxQueued"  # the queue is full: refused at once
        admission.release()
        admission.release()
        await asyncio.gather(*waiting)
        assert order == [0, 1] and admission.in_flight == 2 and not admission.waiters
        admission.release()
        admission.release()
        assert admission.in_flight == 0 and admission.refused == {"maxQueued": 1, "queueTimeout": 0}

    asyncio.run(go())


def test_admission_queue_timeout_and_cancellation() -> None:
    async def go() -> None:
        admission = Admission(max_in_flight=1, max_queued=5, queue_timeout=0.05)
        assert await admission.acquire() is None
        started = time.monotonic()
        assert await admission.acquire() == "queueTimeout"
        assert time.monotonic() - started < 1.0 and not admission.waiters
        admission.queue_timeout = 5.0
        task = asyncio.create_task(admission.acquire())
        await asyncio.sleep(0)
        task.cancel()  # the client went away while waiting
        await asyncio.gather(task, return_exceptions=True)
        assert not admission.waiters
        admission.release()
        assert admission.in_flight == 0  # the slot was not lost to the cancelled waiter

    asyncio.run(go())


def test_overloaded_hub_answers_503_fast_and_recovers(scratch) -> None:
    """2 requests in flight (stuck behind a table lock), 3 queued, the rest refused at once with 503 +
    Retry-After; health stays reachable; once the lock goes, every admitted request completes."""
    settings, tokens = scratch
    tight = replace(settings, pool_min_size=1, pool_max_size=2, max_in_flight=2, max_queued=3,
                    queue_timeout_ms=10_000, statement_timeout_ms=10_000)
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    query = {"query": "{ jobSeekers(first: 2) { nodes { name } } }"}

    async def go(base: str) -> None:
        lock = await asyncpg.connect(settings.database_url)
        await lock.execute("begin; lock table labor.job_seekers in access exclusive mode")
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            async def timed() -> tuple[float, httpx.Response]:
                started = time.monotonic()
                response = await http.post("/graphql", json=query)
                return time.monotonic() - started, response

            tasks = []
            for _ in range(10):
                tasks.append(asyncio.create_task(timed()))
                await asyncio.sleep(0.05)  # arrive one after another: 2 admitted, 3 queued, then refusals
            await asyncio.sleep(0.3)
            health = await http.get("/healthz")
            assert health.status_code == 200
            refused = [t.result() for t in tasks if t.done()]
            assert len(refused) == 5, [r.status_code for _, r in refused]
            for elapsed, response in refused:
                assert response.status_code == 503 and response.headers["retry-after"] == "1"
                assert elapsed < 1.0, f"a refusal took {elapsed:.2f} s"
                extensions = response.json()["errors"][0]["extensions"]
                assert extensions == {"code": "SERVICE_UNAVAILABLE", "reason": "overloaded", "limit": "maxQueued"}
            await lock.execute("rollback")
            await lock.close()
            served = [r for _, r in await asyncio.gather(*tasks)]
            statuses = sorted(r.status_code for r in served)
            assert statuses == [200] * 5 + [503] * 5, statuses
            assert all(r.json()["data"]["jobSeekers"]["nodes"] for r in served if r.status_code == 200)

    app = create_app(tight)
    with serve_in_thread(app) as base:
        asyncio.run(go(base))
    admission = app.state.admission
    assert admission.refused["maxQueued"] == 5 and admission.queued == 3 and admission.peak_waiting == 3
    assert admission.in_flight == 0 and not admission.waiters


def test_reliability_settings_from_the_environment() -> None:
    s = Settings.from_env({"HUB_MAX_IN_FLIGHT": "0", "HUB_MAX_QUEUED": "7", "HUB_QUEUE_TIMEOUT_MS": "250",
                           "HUB_DB_CONNECT_TIMEOUT_MS": "900", "HUB_POOL_ACQUIRE_TIMEOUT_MS": "800"})
    assert (s.max_in_flight, s.max_queued, s.queue_timeout_ms, s.db_connect_timeout_ms,
            s.pool_acquire_timeout_ms) == (0, 7, 250, 900, 800)
    for name in ("HUB_POOL_ACQUIRE_TIMEOUT_MS", "HUB_DB_CONNECT_TIMEOUT_MS", "HUB_QUEUE_TIMEOUT_MS"):
        try:
            Settings.from_env({name: "0"})
        except SettingsError:
            continue
        raise AssertionError(f"{name}=0 was accepted")


def test_no_limit_when_max_in_flight_is_zero() -> None:
    calls = []

    async def app(scope, receive, send) -> None:
        calls.append(scope["path"])

    admission = Admission(max_in_flight=0, max_queued=0, queue_timeout=0.1)
    middleware = OverloadMiddleware(app, admission)

    async def go() -> None:
        await asyncio.gather(*(middleware({"type": "http", "path": "/graphql"}, None, None) for _ in range(5)))

    asyncio.run(go())
    assert len(calls) == 5 and admission.admitted == 0
