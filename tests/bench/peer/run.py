"""``python -m tests.bench peer`` (``make bench``): the hub and PostGraphile 4 / 5 side by side, in one run, over
the same PostgreSQL database (the hub's own schemas, ``large`` demo data).

For every bench operation (``graphql/operations/bench/``) that has a PostGraphile query (``shapes/<stem>.graphql``)
it first checks that both servers return the same data (``answers.compare``; a difference stops the run: a
benchmark of different answers compares nothing), then measures, alternately and for ``--rounds`` rounds:
the hub with the registered document text, the hub with the same text not registered (ad hoc), and each
PostGraphile that runs here (wrk -c16, ``--duration`` s each; the order of the servers is reversed every other
round). Operations without a PostGraphile query (``supply_demand``) are measured on the hub only. Prints every
round, the medians, the ratios registered / best PostGraphile and ad hoc / best PostGraphile and the p99s; the
JSON is written to ``.hub/bench/peer-<timestamp>.json``.

When the database server has ``pg_stat_statements`` loaded (docs/performance.md says how), each timed run also
records the database time of the audit's statements and of all statements, per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from rich.console import Console
from rich.table import Table

from tests.bench import database, operations, servers, wrk
from tests.bench.operations import Operation
from tests.bench.peer import answers, postgraphile

console = Console(width=None if Console().is_terminal else 220)
SHAPES = Path(__file__).resolve().parent / "shapes"
HUB, ADHOC = "hub", "hub_adhoc"
LABELS = {HUB: "hub registered", ADHOC: "hub ad hoc"}


def pgl_body(op: Operation) -> bytes | None:
    """PostGraphile's POST body for ``op`` (its variables take their defaults), or None: no PostGraphile query."""
    path = SHAPES / f"{op.key}.graphql"
    return orjson.dumps({"query": path.read_text(encoding="utf-8")}) if path.exists() else None


def _post(url: str, body: bytes, token: str | None) -> dict:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    r = httpx.post(url + "/graphql", content=body, headers=headers, timeout=60)
    return r.json() if r.headers.get("content-type", "").startswith("application/") else {"errors": [r.text[:300]]}


# --- pg_stat_statements (optional) ---------------------------------------------------------------------

# The audit's statements: the group-commit writer's call (and head read), single-row INSERTs.
AUDIT_TABLES = ("hub.audit_log", "hub.audit_append", "hub.audit_chain_head")


class StatementStats:
    """Database time per request of the audit's statements and of all statements, from pg_stat_statements
    (reset before each timed run). ``enabled`` is False where the extension is not loaded."""

    def __init__(self, url: str):
        self.url = url
        self.enabled = asyncio.run(self._setup())

    async def _connect(self):
        return await asyncpg.connect(self.url)

    async def _setup(self) -> bool:
        conn = await self._connect()
        try:
            loaded = "pg_stat_statements" in (await conn.fetchval("show shared_preload_libraries") or "")
            if loaded:
                await conn.execute("create extension if not exists pg_stat_statements")
            return loaded
        finally:
            await conn.close()

    def reset(self) -> None:
        if self.enabled:
            asyncio.run(self._run("select pg_stat_statements_reset()"))

    async def _run(self, sql: str):
        conn = await self._connect()
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()

    def per_request(self, requests: int) -> dict[str, Any] | None:
        if not self.enabled:
            return None
        rows = asyncio.run(self._run(
            "select query, calls, total_exec_time from pg_stat_statements s join pg_database d on d.oid = s.dbid "
            "where d.datname = current_database() and query not ilike '%pg_stat_statements%'"))
        n = max(requests, 1)
        audit = [r for r in rows if any(t in r["query"].lower() for t in AUDIT_TABLES)]
        return {"all_ms": sum(r["total_exec_time"] for r in rows) / n,
                "audit_ms": sum(r["total_exec_time"] for r in audit) / n,
                "audit_calls": sum(r["calls"] for r in audit) / n,
                "audit_statements": sorted({" ".join(r["query"].split())[:90] for r in audit})}


# --- one timed run ---------------------------------------------------------------------------------------

def _timed(server: servers.Server, body: bytes, token: str | None, args, pg_pids, pss: StatementStats,
           warm: bool) -> dict:
    if warm and args.warmup > 0:
        wrk.run(server.url, [body], token, args.warmup, args.connections, args.threads)
    if args.quiet_wait > 0:
        servers.wait_until_quiet(console, max_wait=args.quiet_wait)
    pss.reset()
    with servers.CpuMeter(server.all_pids(), pg_pids) as cpu:
        res = wrk.run(server.url, [body], token, args.duration, args.connections, args.threads)
    row = res.as_dict()
    row["cpu_ms_per_request"] = cpu.per_request_ms(res.requests)
    row["db_ms_per_request"] = pss.per_request(res.requests)
    row["loadavg"] = os.getloadavg()
    return row


def _check_answers(ops: list[Operation], hub: servers.Server, peers: dict[str, servers.Server],
                   token: str) -> dict[str, dict]:
    """Both servers return the same data for every operation (and the hub the same for both texts)."""
    out: dict[str, dict] = {}
    for op in ops:
        registered = _post(hub.url, op.body(), token)
        adhoc = _post(hub.url, op.body(adhoc=True), token)
        if registered.get("errors") or not registered.get("data"):
            raise SystemExit(f"{op.name}: the hub answered {str(registered)[:500]}")
        if orjson.dumps(registered, option=orjson.OPT_SORT_KEYS) != orjson.dumps(adhoc, option=orjson.OPT_SORT_KEYS):
            raise SystemExit(f"{op.name}: the hub's registered and ad-hoc answers differ")
        checks = {}
        body = pgl_body(op)
        for key, server in peers.items() if body else ():
            c = answers.compare(registered, _post(server.url, body, None))
            console.print(f"  check {op.key:<26} hub vs {key}: {c.summary()}")
            if not c.same:
                raise SystemExit(f"{op.name}: the hub and {key} return different data: {c.difference}")
            checks[key] = c.summary()
        if not body:
            console.print(f"  check {op.key:<26} hub only (no PostGraphile query)")
        out[op.name] = checks
    return out


def run(args) -> int:
    ops = operations.load(args.op)
    wrk.ensure_wrk()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log_dir = database.BENCH_DIR / "logs" / f"peer-{stamp}"
    hub_env = servers.RATE_LIMIT_ON if args.rate_limit == "on" else {}
    started = time.monotonic()
    out: dict[str, Any] = {
        "timestamp": stamp, "machine": {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg()},
        "config": {"duration_s": args.duration, "warmup_s": args.warmup, "rounds": args.rounds,
                   "connections": args.connections, "threads": args.threads, "hub_workers": args.workers,
                   "scale": database.SCALE, "rate_limit": args.rate_limit,
                   "hub_env": {**servers.HUB_ENV, **hub_env}, "consumer": database.CONSUMER_DEPARTMENT},
        "peers": {}, "not_measured": [], "operations": {},
    }
    with database.server(log=console.print) as url:
        token = asyncio.run(database.prepare(url, log=console.print))
        peers, missing = (postgraphile.available(console.print) if args.peers
                          else ([], ["PostGraphile (--no-peers): the hub alone is measured"]))
        for reason in missing:
            console.print(f"[yellow]{reason}[/yellow]")
        out["not_measured"] = missing
        out["peers"] = {p.key: p.label for p in peers}
        if peers:
            postgraphile.prepare_database(url)
        pss = StatementStats(url)
        out["config"]["pg_stat_statements"] = pss.enabled
        pg_pids = lambda: database.backend_pids(url)  # noqa: E731
        with contextlib.ExitStack() as stack:
            hub = stack.enter_context(servers.hub(url, args.workers, log_dir, extra_env=hub_env))
            running = {p.key: stack.enter_context(postgraphile.serve(p, url, log_dir)) for p in peers}
            console.print("checking that the hub and PostGraphile return the same data ...")
            checks = _check_answers(ops, hub, running, token)
            for op in ops:
                out["operations"][op.name] = {"file": op.path.name, "checks": checks[op.name],
                                              "rounds": [{} for _ in range(args.rounds)]}
            for rnd in range(args.rounds):
                console.print(f"[bold]round {rnd + 1} of {args.rounds}[/bold] ({args.duration:g} s per run, "
                              f"wrk -c{args.connections} -t{args.threads}; load {os.getloadavg()[0]:.1f})")
                for op in ops:
                    targets = [(HUB, hub, op.body(), token), (ADHOC, hub, op.body(adhoc=True), token)]
                    body = pgl_body(op)
                    if body:
                        targets += [(key, server, body, None) for key, server in running.items()]
                    if rnd % 2:
                        targets.reverse()
                    for key, server, b, tok in targets:
                        row = _timed(server, b, tok, args, pg_pids, pss, warm=rnd == 0)
                        out["operations"][op.name]["rounds"][rnd][key] = row
                        bad = row["bad_status"] + row["bad_errors"] + row["socket_errors"]
                        db = row["db_ms_per_request"]
                        db_text = f"  db {db['all_ms']:.3f} ms (audit {db['audit_ms']:.3f})" if db else ""
                        console.print(f"  {op.key:<26} {LABELS.get(key, out['peers'].get(key, key)):<22} "
                                      f"{row['rps']:8.1f} req/s  p50 {row['p50_ms']:6.2f}  p99 {row['p99_ms']:7.2f} ms"
                                      f"{db_text}{'  [red]' + str(bad) + ' bad responses[/red]' if bad else ''}")
    out["machine"]["loadavg_after"] = os.getloadavg()
    out["elapsed_s"] = time.monotonic() - started
    summarise(out)
    database.BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = database.BENCH_DIR / f"peer-{stamp}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print_peer(out)
    console.print(f"results: {path} ({out['elapsed_s'] / 60:.1f} min)")
    bad = [(name, key) for name, o in out["operations"].items() for r in o["rounds"] for key, row in r.items()
           if row["bad_status"] or row["bad_errors"] or row["socket_errors"]]
    if bad:
        console.print(f"[red]responses with errors: {bad}[/red]")
        return 1
    return 0


# --- summary and printing --------------------------------------------------------------------------------

def summarise(out: dict) -> None:
    """Per operation: the median req/s and the worst p99 of each server over the rounds, and the ratios of the
    hub's (registered, ad hoc) medians to the better PostGraphile median."""
    for o in out["operations"].values():
        keys = sorted({k for r in o["rounds"] for k in r})
        med = {k: statistics.median(r[k]["rps"] for r in o["rounds"] if k in r) for k in keys}
        p99 = {k: max(r[k]["p99_ms"] for r in o["rounds"] if k in r) for k in keys}
        peers = [k for k in keys if k not in (HUB, ADHOC)]
        best = max(peers, key=lambda k: med[k]) if peers else None
        o["summary"] = {
            "median_rps": med, "worst_p99_ms": p99, "best_peer": best,
            "registered_vs_best_peer": med[HUB] / med[best] if best else None,
            "adhoc_vs_best_peer": med[ADHOC] / med[best] if best else None,
        }


def _cell(row: dict | None) -> str:
    return "—" if row is None else f"{row['rps']:,.0f} ({row['p99_ms']:.0f})"


def _ratio(r: float | None) -> str:
    if r is None:
        return "—"
    colour = "green" if r >= 1.2 else "yellow" if r >= 1.0 else "red"
    return f"[{colour}]{r:.2f}×[/{colour}]"


def print_peer(out: dict, con: Console | None = None) -> None:
    con = con or console
    cfg, peers = out["config"], out["peers"]
    keys = [HUB, ADHOC, *peers]
    names = {**LABELS, **peers}
    table = Table(title=f"req/s (p99 ms) per round — {cfg['scale']} data, wrk -c{cfg['connections']} "
                        f"-t{cfg['threads']}, {cfg['duration_s']:g} s per run, hub {cfg['hub_workers']} workers, "
                        f"rate limit {cfg['rate_limit']}, tracing off; PostGraphile one process; load "
                        f"{out['machine']['loadavg_before'][0]:.1f} → {out['machine']['loadavg_after'][0]:.1f}")
    table.add_column("operation")
    table.add_column("round", justify="right")
    for k in keys:
        table.add_column(names[k], justify="right")
    for name, o in out["operations"].items():
        for i, r in enumerate(o["rounds"]):
            table.add_row(name.removeprefix("Bench") if i == 0 else "", str(i + 1), *(_cell(r.get(k)) for k in keys))
    con.print(table)
    table = Table(title="medians over the rounds, worst p99; ratios to the better PostGraphile")
    table.add_column("operation")
    for k in keys:
        table.add_column(f"{names[k]}\nreq/s", justify="right")
        table.add_column("p99\nms", justify="right")
    table.add_column("registered /\nbest PGL", justify="right")
    table.add_column("ad hoc /\nbest PGL", justify="right")
    if cfg.get("pg_stat_statements"):
        table.add_column("hub db ms/req\n(audit)", justify="right")
    for name, o in out["operations"].items():
        s = o["summary"]
        row = [name.removeprefix("Bench")]
        for k in keys:
            row += [f"{s['median_rps'][k]:,.0f}" if k in s["median_rps"] else "—",
                    f"{s['worst_p99_ms'][k]:.1f}" if k in s["worst_p99_ms"] else "—"]
        row += [_ratio(s["registered_vs_best_peer"]), _ratio(s["adhoc_vs_best_peer"])]
        if cfg.get("pg_stat_statements"):
            dbs = [r[HUB]["db_ms_per_request"] for r in o["rounds"] if r.get(HUB, {}).get("db_ms_per_request")]
            row.append(f"{statistics.median(d['all_ms'] for d in dbs):.3f} "
                       f"({statistics.median(d['audit_ms'] for d in dbs):.3f})" if dbs else "—")
        table.add_row(*row)
    con.print(table)
    for reason in out.get("not_measured", []):
        con.print(f"[yellow]not measured: {reason}[/yellow]")


def markdown(out: dict) -> str:
    """The per-round table and the summary as Markdown (for docs/performance.md)."""
    peers = out["peers"]
    keys = [HUB, ADHOC, *peers]
    names = {**LABELS, **peers}
    lines = ["| operation | round | " + " | ".join(f"{names[k]} req/s (p99 ms)" for k in keys)
             + " | registered / best PGL | ad hoc / best PGL |",
             "|---|---|" + "---|" * (len(keys) + 2)]
    for name, o in out["operations"].items():
        s = o["summary"]
        for i, r in enumerate(o["rounds"]):
            ratios = [f"{v:.2f}×" if v is not None else "—" for v in
                      (s["registered_vs_best_peer"], s["adhoc_vs_best_peer"])] if i == 0 else ["", ""]
            lines.append(f"| {name.removeprefix('Bench') if i == 0 else ''} | {i + 1} | "
                         + " | ".join(_cell(r.get(k)) for k in keys) + " | " + " | ".join(ratios) + " |")
    return "\n".join(lines)
