"""``make soak``: a mix of operations at concurrency 64 for 60 s against a live hub process; prints the
request figures and the hub's memory, and exits 1 on any unexpected answer or growing memory.

    python -m tests.soak [--seconds 60] [--concurrency 64] [--scale small|medium|large]

The hub is ``hub serve --workers 1`` (tests/bench/servers.py: production settings, the per-consumer rate
limit off, tracing exporters off) on a fresh database ``hub_soak`` with demo data. Every operation of the
mix has an expected answer — including the refusals (FORBIDDEN, BAD_USER_INPUT): anything else (a 5xx, an
overload 503, a timeout, an unexpected error code) counts as unexpected. Memory: the hub's RSS is sampled
every second; it is stable when it grows by at most 10 % from the end of the first quarter of the run
(warm-up: caches, pools, compiled plans) to its end.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

import httpx

from hub import ROOT

STABLE_RATIO = 0.10  # the hub's RSS may grow by at most 10 % after the warm-up


@dataclass(frozen=True)
class Operation:
    name: str
    weight: int
    who: str
    method: str
    path: str
    json: Any = None
    params: dict | None = None
    expect: Callable[[httpx.Response], bool] = lambda r: False


def _graphql_ok(response: httpx.Response) -> bool:
    if response.status_code != 200:
        return False
    body = response.json()
    return "errors" not in body and body.get("data") is not None


def _graphql_refused(*codes: str) -> Callable[[httpx.Response], bool]:
    def check(response: httpx.Response) -> bool:
        if response.status_code != 200:
            return False
        errors = response.json().get("errors") or []
        return bool(errors) and {e.get("extensions", {}).get("code") for e in errors} <= set(codes)
    return check


def _operations() -> list[Operation]:
    from hub.api.trusted import TrustedDocuments

    documents = {d.path: d for d in TrustedDocuments.load()}
    persisted = lambda path, variables=None: {  # noqa: E731
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": documents[path].hash}},
        "variables": variables or {}}
    return [
        Operation("compiled occupation postings", 15, "labor", "POST", "/graphql",
                  persisted("examples/occupation_postings.graphql"), expect=_graphql_ok),
        Operation("compiled postings nested", 10, "commerce", "POST", "/graphql",
                  persisted("bench/postings_nested.graphql"), expect=_graphql_ok),
        Operation("compiled school research", 5, "education", "POST", "/graphql",
                  persisted("examples/school_research.graphql"), expect=_graphql_ok),
        Operation("general cross-department", 15, "labor", "POST", "/graphql", {"query": (
            "{ industry(code: \"39\") { name children { code name } majors { code name school { name } } "
            "enterprises(first: 5) { nodes { uscc name "
            "researchProjects(first: 2) { nodes { title budgetWan } } } } } }")}, expect=_graphql_ok),
        Operation("general occupation postings", 10, "commerce", "POST", "/graphql", {"query": (
            "{ occupations(first: 3, codePrefix: \"6-\") { nodes { code name postingCount "
            "postings(first: 3) { nodes { title wageMin wageMax enterprise { name } } } } } }")},
                  expect=_graphql_ok),
        Operation("GET query", 10, "science", "GET", "/graphql",
                  params={"query": "{ industries(first: 10, codePrefix: \"C\") { nodes { code name level } } }"},
                  expect=_graphql_ok),
        Operation("mutation requestAccess", 4, "commerce", "POST", "/graphql", {"query": (
            "mutation { requestAccess(dataset: \"labor.job_seekers\", purpose: \"soak test\", "
            "until: \"2030-12-31\") { id status } }")}, expect=_graphql_ok),
        Operation("refused: NOT_SHARED", 8, "labor", "POST", "/graphql",
                  {"query": "{ investmentProjects(first: 5) { nodes { code } } }"},
                  expect=_graphql_refused("FORBIDDEN")),
        Operation("refused: first too large", 5, "labor", "POST", "/graphql",
                  {"query": "{ industries(first: 100000) { nodes { code } } }"},
                  expect=_graphql_refused("BAD_USER_INPUT")),
        Operation("refused: parse error", 3, "labor", "POST", "/graphql", {"query": "{ industries(first: 5) {"},
                  expect=_graphql_refused("GRAPHQL_PARSE_FAILED")),
        Operation("sync changes", 10, "labor", "GET", "/sync/labor.job_postings/changes", params={"limit": "20"},
                  expect=lambda r: r.status_code == 200 and b'"next_cursor"' in r.content),
        Operation("readyz", 5, "labor", "GET", "/readyz", expect=lambda r: r.status_code == 200),
    ]


class Figures:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.statuses: collections.Counter = collections.Counter()
        self.unexpected: collections.Counter = collections.Counter()
        self.examples: list[str] = []

    def record(self, op: Operation, elapsed: float, outcome: str, ok: bool) -> None:
        self.latency[op.name].append(elapsed)
        self.statuses[outcome] += 1
        if not ok:
            self.unexpected[op.name] += 1
            if len(self.examples) < 10:
                self.examples.append(f"{op.name}: {outcome}")


async def _run(base: str, tokens: dict[str, str], operations: list[Operation], seconds: float, concurrency: int,
               figures: Figures, rss: Callable[[], float], samples: list[tuple[float, float]]) -> float:
    rng = random.Random(42)
    weights = [op.weight for op in operations]
    # Idle connections are dropped before the server's keep-alive timeout (uvicorn: 5 s) can close them under
    # a request in flight (a client-side race, not a hub failure).
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        started = time.monotonic()
        deadline = started + seconds

        async def worker() -> None:
            while time.monotonic() < deadline:
                op = rng.choices(operations, weights)[0]
                t0 = time.monotonic()
                try:
                    response = await http.request(op.method, op.path, json=op.json, params=op.params,
                                                  headers={"Authorization": f"Bearer {tokens[op.who]}"})
                    ok = op.expect(response)
                    outcome = str(response.status_code) if ok else f"{response.status_code} {response.text[:160]}"
                except httpx.HTTPError as exc:
                    ok, outcome = False, type(exc).__name__
                figures.record(op, time.monotonic() - t0, str(outcome)[:200] if not ok else outcome, ok)

        async def sampler() -> None:
            while time.monotonic() < deadline:
                samples.append((time.monotonic() - started, rss()))
                await asyncio.sleep(1.0)
            samples.append((time.monotonic() - started, rss()))

        await asyncio.gather(sampler(), *(worker() for _ in range(concurrency)))
        return time.monotonic() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def report(figures: Figures, elapsed: float, samples: list[tuple[float, float]], concurrency: int) -> bool:
    total = sum(len(v) for v in figures.latency.values())
    everything = [x for v in figures.latency.values() for x in v]
    unexpected = sum(figures.unexpected.values())
    print(f"\nsoak: {elapsed:.0f} s at concurrency {concurrency}: {total:,} requests, {total / elapsed:,.0f} req/s, "
          f"{unexpected} unexpected")
    print(f"  latency ms: p50 {_percentile(everything, 0.5):.1f}  p95 {_percentile(everything, 0.95):.1f}  "
          f"p99 {_percentile(everything, 0.99):.1f}  max {max(everything, default=0) * 1000:.1f}")
    print(f"  {'operation':<30} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8} {'unexpected':>10}")
    for name, values in figures.latency.items():
        print(f"  {name:<30} {len(values):>9,} {statistics.median(values) * 1000:>8.1f} "
              f"{_percentile(values, 0.99):>8.1f} {figures.unexpected[name]:>10}")
    print("  statuses:", dict(figures.statuses.most_common(8)))
    for example in figures.examples:
        print("  unexpected:", example)
    warm = [mib for t, mib in samples if t >= elapsed / 4] or [samples[-1][1]]
    start, end, peak = warm[0], samples[-1][1], max(mib for _, mib in samples)
    growth = end - start
    stable = growth <= STABLE_RATIO * start
    print(f"  hub RSS MiB: at start {samples[0][1]:.1f}, after warm-up {start:.1f}, end {end:.1f}, peak {peak:.1f} "
          f"-> {'stable' if stable else 'GROWING'} ({growth:+.1f} MiB)")
    return unexpected == 0 and stable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--scale", default="small", choices=("small", "medium", "large"))
    args = parser.parse_args()
    from tests.bench import servers
    from tests.support.live import scratch_hub_database

    with scratch_hub_database("hub_soak", scale=args.scale) as (settings, tokens):
        with servers.hub(settings.database_url, 1, ROOT / ".hub" / "soak",
                         extra_env={"HUB_WORKERS": "1", "HUB_LOG_LEVEL": "warning"}) as server:
            rss = lambda: sum(server.rss_mb())  # noqa: E731
            figures, samples = Figures(), []
            elapsed = asyncio.run(_run(server.url, tokens, _operations(), args.seconds, args.concurrency,
                                       figures, rss, samples))
    return 0 if report(figures, elapsed, samples, args.concurrency) else 1


if __name__ == "__main__":
    sys.exit(main())
