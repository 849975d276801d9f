"""``make bench-stats``: latency of each published-statistics query on the ``large`` demo data.

Loads ``large`` (seed 42) into its own database (``hub_bench_stats`` on DATABASE_URL's server, else on the
embedded one) unless it is already there, refreshes the statistics (timed) when they are older than the data,
then runs every query ``--runs`` times (round robin) through the whole HTTP + GraphQL stack of the hub (in
process, as the commerce department: a reader that owns no seekers or graduates, so small cells are
suppressed) and prints the median and p95 latency of each. The target is a median under 50 ms.

    python -m tests.bench.stats [--runs 50] [--year 2025] [--refresh]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
from dataclasses import replace
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

DATABASE = os.environ.get("HUB_BENCH_STATS_DATABASE", "hub_bench_stats")
SCALE, SEED = "large", 42

SD = "{ supplyDemand(year: %%d%s) { nodes { occupationCode districtCode skillLevel industrySection quarter demand " \
     "supply ratio gap suppressed } } }"
QUERIES: list[tuple[str, str]] = [
    ("supplyDemand: year total", SD % ""),
    ("supplyDemand: by quarter", SD % ", groupBy: [QUARTER]"),
    ("supplyDemand: by occupation, top 100 gaps", SD % ", groupBy: [OCCUPATION], orderBy: GAP_DESC, first: 100"),
    ("supplyDemand: by district", SD % ", groupBy: [DISTRICT]"),
    ("supplyDemand: by skill level", SD % ", groupBy: [SKILL_LEVEL]"),
    ("supplyDemand: by industry section", SD % ", groupBy: [INDUSTRY_SECTION]"),
    ("supplyDemand: occupation x quarter, 1 district",
     SD % ', district: "440106", groupBy: [OCCUPATION, QUARTER], first: 200'),
    ("supplyDemand: 1 occupation x district x level x quarter",
     SD % ', occupationCode: "6-18-01-01", groupBy: [DISTRICT, SKILL_LEVEL, QUARTER], first: 200'),
    ("supplyDemand: occ x district x level x quarter, 100",
     SD % ", groupBy: [OCCUPATION, DISTRICT, SKILL_LEVEL, QUARTER], first: 100"),
    ("supplyDemand: same, top 100 gaps (sorts ~50k rows)",
     SD % ", groupBy: [OCCUPATION, DISTRICT, SKILL_LEVEL, QUARTER], orderBy: GAP_DESC, first: 100"),
    ("supplyDemand: all 5 dimensions, 100",
     SD % ", groupBy: [OCCUPATION, DISTRICT, SKILL_LEVEL, INDUSTRY_SECTION, QUARTER], first: 100"),
    ("shortageOccupations: top 20", "{ shortageOccupations(year: %d, limit: 20) { rank previousRank occupationCode "
                                    "occupationName quartersMet demand supply gap quarters { quarter ratio met } "
                                    "districts { districtCode gap } } }"),
    ("shortageOccupations: all", "{ shortageOccupations(year: %d) { rank occupationCode gap districts { gap } } }"),
    ("trainingCatalog", "{ trainingCatalog(year: %d) { occupationCode programs seats providers shortage } }"),
    ("majorIndustryMatch: city", "{ majorIndustryMatch(year: %d) { majorCode graduates graduatesShare demand "
                                 "demandShare index status suppressed industries { code name } } }"),
    ("majorIndustryMatch: 1 district", '{ majorIndustryMatch(year: %d, district: "440106") { majorCode index status '
                                       "} }"),
    ("majorWarnings", "{ majorWarnings(year: %d) { majorCode schoolCode level action consecutiveYearsBelow "
                      "years { year employmentRate suppressed } } }"),
]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextlib.contextmanager
def _server() -> Iterator[str]:
    from hub.db.runtime import ensure_database
    from hub.settings import Settings

    external = os.environ.get("DATABASE_URL")
    if external:
        asyncio.run(ensure_database(_with_database(external, "postgres"), DATABASE))
        yield _with_database(external, DATABASE)
        return
    from hub.db.embedded import EmbeddedPostgres

    pg = EmbeddedPostgres(Settings.from_env({}).data_dir).start()
    try:
        asyncio.run(ensure_database(pg.admin_url(), DATABASE))
        yield pg.admin_url(DATABASE)
    finally:
        pg.stop()


async def _prepare(settings, force_refresh: bool) -> tuple[str, float | None]:
    """Seed and refresh as needed; returns the commerce consumer's token and the refresh time (if one ran)."""
    from hub.governance.consumers import create_consumer
    from hub.db.pools import Databases
    from hub.db.runtime import migrate_all
    from hub.demo.load import load_demo
    from resolvers.analytics.statistics import refresh_statistics

    await migrate_all(settings)
    db = await Databases(settings, settings.database_url).open()
    try:
        marker = await db.hub.fetchval("hub/demo_data_status")
        marker = json.loads(marker) if isinstance(marker, str) else marker
        if not marker or (marker.get("scale"), marker.get("seed")) != (SCALE, SEED):
            print(f"loading the {SCALE} demo data into {DATABASE} (once) ...", flush=True)
            pools = {"hub": db.pools["bigdata"], **{d: db.pools[d] for d in ("commerce", "labor", "science",
                                                                               "education")}}
            await load_demo(pools, scale=SCALE, seed=SEED)
        async with db.pools["bigdata"].acquire() as conn:
            stale = await conn.fetchval(
                "select coalesce((select max(refreshed_at) from hub.stat_refreshes), '-infinity') "
                "< (select updated_at from hub.meta where key = 'demo_data')")
        took = None
        if stale or force_refresh:
            started = time.perf_counter()
            await refresh_statistics(db)
            took = time.perf_counter() - started
        _, token = await create_consumer(db.hub, "commerce", "bench-stats (commerce)")
        return token, took
    finally:
        await db.close()


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.stats", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50, help="timed runs per query (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs per query first (default 5)")
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--refresh", action="store_true", help="refresh (and time it) even when up to date")
    args = parser.parse_args(argv)

    from starlette.testclient import TestClient

    from hub.app import create_app
    from hub.settings import Settings

    with _server() as url:
        settings = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=url, rate_limit_per_second=0.0,
                           access_log=False)
        token, refresh_took = asyncio.run(_prepare(settings, args.refresh))
        if refresh_took is not None:
            print(f"statistics refresh on {SCALE}: {refresh_took:.1f} s")
        with TestClient(create_app(settings)) as client:
            client.headers["Authorization"] = f"Bearer {token}"
            cases = [(name, "post", q % args.year) for name, q in QUERIES]
            cases.append((f"GET /reports/{args.year} (draft HTML page)", "get", f"/reports/{args.year}"))
            timings: dict[str, list[float]] = {name: [] for name, _, _ in cases}
            sizes: dict[str, int] = {}
            # Round robin (every query once per round), so that a load change on the machine affects all alike.
            for i in range(args.warmup + args.runs):
                for name, method, payload in cases:
                    started = time.perf_counter()
                    if method == "post":
                        response = client.post("/graphql", json={"query": payload})
                        body = response.json()
                        assert response.status_code == 200 and "errors" not in body, (name, body)
                    else:
                        response = client.get(payload)
                        assert response.status_code == 200, (name, response.text[:300])
                    if i >= args.warmup:
                        timings[name].append((time.perf_counter() - started) * 1000)
                    sizes[name] = len(response.content)
            results = [(name, statistics.median(timings[name]), _percentile(timings[name], 0.95), sizes[name])
                       for name, _, _ in cases]
    width = max(len(r[0]) for r in results)
    print(f"\n{'query':<{width}}  {'median ms':>9}  {'p95 ms':>7}  {'bytes':>9}   ({args.runs} runs, year {args.year}, "
          f"{SCALE} demo data, HTTP + GraphQL in process, as commerce)")
    for name, median, p95, size in results:
        flag = "" if median < 50 else "  > 50 ms"
        print(f"{name:<{width}}  {median:>9.1f}  {p95:>7.1f}  {size:>9,}{flag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
