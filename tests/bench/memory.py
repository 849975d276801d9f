"""``python -m tests.bench memory``: does a hub worker's memory stay flat under load?

wrk sends a round-robin mix of every bench operation; each time the total passes a multiple of ``--step``
requests the RSS of the hub's worker processes is sampled (wrk runs are bounded by time, sized from the
throughput seen so far, so a sample lands a little past each multiple). The
check (issue 7): RSS after ``--requests`` (100,000) stays within ``--max-growth`` % (10) of the RSS
after the first step (10,000)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import time

from rich.console import Console
from rich.table import Table

from tests.bench import database, operations, servers, wrk

console = Console(width=None if Console().is_terminal else 160)


def memory(args) -> int:
    ops = operations.load()
    wrk.ensure_wrk()
    bodies = [op.body(adhoc=args.adhoc) for op in ops]
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    samples: list[dict] = []
    with database.server(log=console.print) as url:
        token = asyncio.run(database.prepare(url, log=console.print))
        with servers.hub(url, args.workers, database.BENCH_DIR / "logs" / f"memory-{stamp}") as server:
            start = server.rss_mb()
            samples.append({"requests": 0, "rss_mb": start, "rps": None})
            console.print(f"hub ({args.workers} worker(s)) RSS at start: {sum(start):.1f} MiB; mix of "
                          f"{len(ops)} operations ({'ad-hoc texts: general path' if args.adhoc else 'registered texts'}), "
                          f"{args.requests:,} requests in steps of {args.step:,}")
            done = 0
            bad = 0
            rps = 0.0
            target = 0
            while done < args.requests:
                target = min(target + args.step, args.requests)
                started, n0 = time.monotonic(), done
                while done < target:
                    seconds = math.ceil((target - done) / rps) if rps else 2
                    res = wrk.run(server.url, bodies, token, duration_s=max(1, min(seconds, 60)),
                                  connections=args.connections, threads=args.threads)
                    done += res.requests
                    bad += res.bad_status + res.bad_errors + res.socket_errors
                    rps = res.rps or 1.0
                rss = server.rss_mb()
                step_rps = (done - n0) / (time.monotonic() - started)
                samples.append({"requests": done, "rss_mb": rss, "rps": step_rps})
                console.print(f"  after {done:>7,} requests: RSS {sum(rss):7.1f} MiB "
                              f"({', '.join(f'{x:.1f}' for x in rss)})  ~{step_rps:6.0f} req/s")
    first = next((s for s in samples if s["requests"] >= min(args.step, args.requests)), samples[-1])
    last = samples[-1]
    growth = 100 * (sum(last["rss_mb"]) - sum(first["rss_mb"])) / sum(first["rss_mb"])
    ok = growth <= args.max_growth and bad == 0
    table = Table(title="hub worker RSS")
    table.add_column("requests", justify="right")
    table.add_column("RSS MiB", justify="right")
    table.add_row("0 (started)", f"{sum(samples[0]['rss_mb']):.1f}")
    table.add_row(f"{first['requests']:,}", f"{sum(first['rss_mb']):.1f}")
    table.add_row(f"{last['requests']:,}", f"{sum(last['rss_mb']):.1f}")
    console.print(table)
    colour = "green" if ok else "red"
    console.print(f"[{colour}]growth from {first['requests']:,} to {last['requests']:,} requests: {growth:+.1f}% "
                  f"(limit {args.max_growth:g}%); {bad} bad responses[/{colour}]")
    path = database.BENCH_DIR / f"memory-{stamp}.json"
    path.write_text(json.dumps({"timestamp": stamp, "workers": args.workers, "operations": [o.name for o in ops],
                                "adhoc": args.adhoc,
                                "samples": samples, "growth_percent": growth, "bad_responses": bad, "ok": ok},
                               indent=2))
    console.print(f"results: {path}")
    return 0 if ok else 1
