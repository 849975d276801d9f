"""``make bench-tracing``: the cost of tracing, as a throughput ratio measured in one run.

The same operation (a nested cross-department query: occupations -> postings -> enterprise -> industry,
about 8 SQL statements and 16 spans per request) is served by the hub app in-process, driven straight
through ASGI (no HTTP client in the way, so the ratio is the app's own), in alternating rounds:

* ``off``: no exporter configured (what an unconfigured hub does: trace ids, nothing recorded);
* ``on``:  every request traced and exported over OTLP/HTTP (BatchSpanProcessor) to a receiver running in
  another process on 127.0.0.1 (tests/support/otlp_receiver.py, decoding every span);
* ``asgi`` (``--compare-asgi``): ``on``, but with opentelemetry-instrumentation-asgi's middleware as the
  server span instead of the hub's own (the choice documented in hub/telemetry/observe.py).

Prints requests/s per mode (median of the rounds) and the ratio to ``off``; the goal is on/off >= 0.85.
Uses its own database ``hub_bench_tracing`` (small demo data, recreated each run) on the embedded server
or on DATABASE_URL's server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any

import orjson

QUERY = """query BenchNested {
  occupations(first: 5) { nodes { code name postingCount
    postings(first: 3) { nodes { title headcount enterprise { name industry { code name } } } } } }
}"""
DATABASE = "hub_bench_tracing"


async def _call(app: Any, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One POST /graphql straight through ASGI."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def _round(app: Any, token: str, requests: int, concurrency: int) -> tuple[float, float]:
    """(requests/s, CPU ms of this process per request: all its threads, the exporter's included)."""
    body = orjson.dumps({"query": QUERY})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"authorization", f"Bearer {token}".encode())]
    per_client = requests // concurrency

    async def client() -> None:
        for _ in range(per_client):
            status, answer = await _call(app, body, headers)
            if status != 200 or b'"errors"' in answer:
                raise SystemExit(f"bad answer: HTTP {status} {answer[:300]!r}")

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    done = per_client * concurrency
    return done / (time.perf_counter() - started), (time.process_time() - cpu) * 1000 / done


def _app(settings: Any, mode: str, endpoint: str) -> Any:
    from hub.app import create_app
    from hub.telemetry.tracing import provider_from_env

    if mode == "off":
        return create_app(settings, tracer_provider=provider_from_env({})), None
    provider = provider_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SERVICE_NAME": "hub-bench"})
    app = create_app(settings, tracer_provider=provider)
    if mode == "asgi":
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        app.user_middleware[0].kwargs["server_span"] = False  # the outer middleware opens the server span
        return OpenTelemetryMiddleware(app, tracer_provider=provider), (app, provider)
    return app, (app, provider)


async def _measure(settings: Any, token: str, endpoint: str, modes: list[str], rounds: int, requests: int,
                   concurrency: int) -> dict[str, list[tuple[float, float]]]:
    apps = {mode: _app(settings, mode, endpoint) for mode in modes}
    results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
    contexts = []
    for mode, (app, extra) in apps.items():
        starlette_app = extra[0] if extra else app
        ctx = starlette_app.router.lifespan_context(starlette_app)
        await ctx.__aenter__()
        contexts.append(ctx)
    try:
        for mode, (app, _extra) in apps.items():  # warm-up: caches, pools, JIT-free PostgreSQL plans
            await _round(app, token, max(concurrency, requests // 4), concurrency)
        for i in range(rounds):
            order = modes if i % 2 == 0 else list(reversed(modes))
            for mode in order:
                results[mode].append(await _round(apps[mode][0], token, requests, concurrency))
            print(f"  round {i + 1:>2}/{rounds}: " + "  ".join(
                f"{m} {results[m][-1][0]:7.1f} req/s {results[m][-1][1]:5.2f} CPU ms/req" for m in modes), flush=True)
    finally:
        for ctx in contexts:
            await ctx.__aexit__(None, None, None)
        for _app_, extra in apps.values():
            if extra:
                extra[1].force_flush()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.tracing", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_TRACING_REQUESTS", 160)),
                        help="requests per round and mode (default 160)")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_TRACING_ROUNDS", 40)))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--compare-asgi", action="store_true",
                        help="also measure opentelemetry-instrumentation-asgi's middleware as the server span")
    args = parser.parse_args(argv)

    from hub.telemetry.logs import configure_logging
    from hub.settings import Settings
    from tests.support.live import scratch_hub_database

    # The access line is written in every mode (to /dev/null): it is part of a request's normal cost.
    configure_logging("warning", "json", stream=open(os.devnull, "w"))  # noqa: SIM115 - for the process
    receiver = subprocess.Popen([sys.executable, "-m", "tests.otlp_receiver"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
    try:
        endpoint = f"http://127.0.0.1:{receiver.stdout.readline().strip()}"
        modes = ["off", "on", *(["asgi"] if args.compare_asgi else [])]
        with scratch_hub_database(DATABASE, "small", drop_after=True) as (scratch, tokens):
            token = tokens["labor"]
            settings = replace(Settings.from_env({"HUB_ENV": "production"}), database_url=scratch.database_url,
                               rate_limit_per_second=0.0)
            print(f"tracing benchmark: {args.rounds} rounds x {args.requests} requests per mode, "
                  f"{args.concurrency} concurrent, OTLP/HTTP to {endpoint}", flush=True)
            results = asyncio.run(_measure(settings, token, endpoint, modes, args.rounds, args.requests,
                                           args.concurrency))
    finally:
        receiver.stdin.close()
        exported = receiver.stdout.readline().strip()
        receiver.wait(timeout=10)
    # Ratios are taken round by round (each mode's round right beside the off round), then the median:
    # load from other processes shifts over seconds and mostly cancels within a round.
    print(f"\n{'mode':<6}{'req/s':>9}{'ratio':>8}{'CPU ms/req':>12}{'CPU ratio':>11}   "
          "(medians; ratios to off, paired by round)")
    summary = {}
    for mode, values in results.items():
        ratio = statistics.median(r / o for (r, _), (o, _) in zip(values, results["off"]))
        cpu_ratio = statistics.median(o / c for (_, c), (_, o) in zip(values, results["off"]))
        summary[mode] = (ratio, cpu_ratio)
        print(f"{mode:<6}{statistics.median(r for r, _ in values):>9.1f}{ratio:>8.3f}"
              f"{statistics.median(c for _, c in values):>12.2f}{cpu_ratio:>11.3f}")
    print(f"\nthe OTLP receiver got {exported}")
    print(f"tracing on / off throughput ratio: {summary['on'][0]:.3f} (goal >= 0.85); by CPU per request: "
          f"{summary['on'][1]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
