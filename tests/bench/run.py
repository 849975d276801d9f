"""``python -m tests.bench run``: the hub (1 and 2 workers) and the floor on every bench operation."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import time
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import orjson
from rich.console import Console

from tests.bench import database, operations, servers, wrk
from tests.bench.floor import HANDLERS
from tests.bench.operations import Operation

console = Console(width=None if Console().is_terminal else 200)
QUIET_WAIT = 60.0


# --- correctness checks and statement counts (in-process) -----------------------------------------

def _non_empty(data: Any) -> bool:
    """Every root field is non-null and at least one list somewhere under it has items (or it is an object)."""
    if not isinstance(data, dict) or not data:
        return False
    return all(v is not None for v in data.values())


def _check_body(op: Operation, where: str, status: int, body: dict) -> dict:
    if status != 200:
        raise SystemExit(f"{op.name} on {where}: HTTP {status}: {str(body)[:500]}")
    if body.get("errors"):
        raise SystemExit(f"{op.name} on {where}: errors {orjson.dumps(body['errors'])[:800].decode()}")
    if not _non_empty(body.get("data")):
        raise SystemExit(f"{op.name} on {where}: empty data {str(body)[:300]}")
    return body["data"]


def count_statements(url: str, token: str, ops: list[Operation], adhoc: bool = False) -> dict[str, dict]:
    """Run each operation through the app in-process (production settings) and count its SQL statements
    (``app.state.db.stats``, the resolvers' statements), plus the audit INSERT and asyncpg's pool resets
    (the reset query asyncpg runs when a connection goes back to the pool: one more round trip)."""
    from starlette.testclient import TestClient

    from hub.app import create_app
    from hub.settings import Settings

    resets = {"n": 0}
    original_reset = asyncpg.connection.Connection.reset

    async def counting_reset(self, *args, **kwargs):
        resets["n"] += 1
        return await original_reset(self, *args, **kwargs)

    settings = replace(Settings.from_env({**servers.HUB_ENV}), database_url=url)
    app = create_app(settings)
    out: dict[str, dict] = {}
    asyncpg.connection.Connection.reset = counting_reset
    try:
        with TestClient(app) as client:
            client.headers["Authorization"] = f"Bearer {token}"
            client.headers["content-type"] = "application/json"
            for op in ops:
                client.post("/graphql", content=op.body(adhoc=adhoc))  # warm: consumer, catalog, grants cached
                stats = app.state.db.stats
                before, by_name, resets_before = stats.statements, dict(stats.by_name), resets["n"]
                r = client.post("/graphql", content=op.body(adhoc=adhoc))
                data = _check_body(op, "hub (in-process)", r.status_code, r.json())
                names = {k: v - by_name.get(k, 0) for k, v in stats.by_name.items() if v - by_name.get(k, 0)}
                statements = stats.statements - before
                out[op.name] = {"statements": statements, "with_audit": statements + 1, "by_name": names,
                                "pool_resets": resets["n"] - resets_before,
                                "round_trips": statements + 1 + resets["n"] - resets_before,
                                "response_bytes": len(r.content), "data": data}
    finally:
        asyncpg.connection.Connection.reset = original_reset
    return out


def audit_ceiling(url: str, seconds: float = 3.0, concurrency: int = 16) -> dict[str, float]:
    """Audit entries/s the database accepts from ``concurrency`` writers doing nothing else: every audited
    operation needs one, and the hash chain serialises them (advisory lock held until the durable commit),
    so one INSERT per entry caps the hub's req/s whatever its CPU; ``group_commit_per_s`` is the rate of
    ``concurrency`` operations through the hub's group-commit writer (hub.governance.audit_writer, what the hub uses).
    Writes entries of a "bench" consumer into the bench database's audit log (they chain like any other)."""
    from hub.governance.audit import AuditEntry, insert_sql

    entry = AuditEntry(operation_type="query", operation_name="BenchAuditCeiling", document_hash="0" * 64,
                       department=database.CONSUMER_DEPARTMENT, consumer_name="bench audit ceiling",
                       datasets=["labor.job_postings"], rows={"labor.job_postings": 50})
    sql, args = insert_sql(), entry.args()

    async def go() -> dict[str, float]:
        pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
        out: dict[str, Any] = {}
        try:
            for label, n in (("serial", 1), ("concurrent", concurrency)):
                done = 0
                deadline = time.monotonic() + seconds / 2

                async def writer() -> None:
                    nonlocal done
                    while time.monotonic() < deadline:
                        await pool.execute(sql, *args)
                        done += 1

                started = time.monotonic()
                await __import__("asyncio").gather(*(writer() for _ in range(n)))
                out[f"{label}_per_s"] = done / (time.monotonic() - started)
            out["synchronous_commit"] = await pool.fetchval("show synchronous_commit")
        finally:
            await pool.close()
        from hub.governance.audit_writer import AuditWriter
        from hub.db.pools import Databases
        from hub.settings import Settings

        db = await Databases(replace(Settings.from_env({}), database_url=url), url).open()
        try:
            writer = AuditWriter(db.hub)
            done = 0
            deadline = time.monotonic() + seconds / 2

            async def operation() -> None:
                nonlocal done
                while time.monotonic() < deadline:
                    await writer.write(entry)
                    done += 1

            started = time.monotonic()
            await __import__("asyncio").gather(*(operation() for _ in range(concurrency)))
            out["group_commit_per_s"] = done / (time.monotonic() - started)
            out["group_commit_mean_batch"] = writer.entries / max(writer.batches, 1)
            await writer.close()
            return out
        finally:
            await db.close()

    return __import__("asyncio").run(go())


def _http_data(server: servers.Server, op: Operation, token: str | None, adhoc: bool = False) -> dict:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    r = httpx.post(server.url + "/graphql", content=op.body(adhoc=adhoc), headers=headers, timeout=30)
    return _check_body(op, f"{server.kind} ({server.workers} worker(s))", r.status_code, r.json())


def _same(a: Any, b: Any) -> bool:
    return orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(b, option=orjson.OPT_SORT_KEYS)


# --- one server ----------------------------------------------------------------------------------

def measure(server: servers.Server, ops: list[Operation], token: str | None, expected: dict[str, dict],
            pg_pids, duration: float, warmup: float, connections: int, threads: int,
            adhoc: bool = False) -> dict[str, dict]:
    results: dict[str, dict] = {}
    label = f"{server.kind}{' ad-hoc' if adhoc else ''} w{server.workers}"
    for op in ops:
        data = _http_data(server, op, token, adhoc)
        same = _same(data, expected[op.name]["data"])
        if not same:
            console.print(f"[yellow]warning:[/yellow] {op.name}: {label} data differs from the hub's (in-process)")
        body = op.body(adhoc=adhoc)
        if warmup > 0:
            wrk.run(server.url, [body], token, warmup, connections, threads)
        server_pids = server.all_pids()
        servers.wait_until_quiet(console, max_wait=QUIET_WAIT)
        with servers.CpuMeter(server_pids, pg_pids) as cpu:
            res = wrk.run(server.url, [body], token, duration, connections, threads)
        row = res.as_dict()
        row["cpu_ms_per_request"] = cpu.per_request_ms(res.requests)
        row["capacity_estimate_rps"] = servers.capacity_estimate(row["cpu_ms_per_request"], server.workers)
        row["rss_mb"] = server.rss_mb()
        row["same_data_as_hub"] = same
        results[op.name] = row
        status = "[green]ok[/green]" if not (res.bad_status or res.bad_errors or res.socket_errors) else (
            f"[red]{res.bad_status} bad status, {res.bad_errors} with errors, {res.socket_errors} socket errors[/red]")
        other = row["cpu_ms_per_request"]["other_share"]
        noise = f"  [yellow]other processes used {100 * other:.0f}% of the CPU[/yellow]" if other > 0.05 else ""
        console.print(f"  {label:<16} {op.name:<26} {res.rps:8.1f} req/s  p50 {res.p50_ms:7.2f} ms"
                      f"  p99 {res.p99_ms:7.2f} ms  {status}{noise}")
    return results


def _machine() -> dict:
    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.splitlines()[0]
        except Exception:  # noqa: BLE001
            return "?"

    import importlib.metadata as md

    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "loadavg_before": os.getloadavg(), "wrk": version(["wrk", "--version"]),
            "packages": {p: md.version(p) for p in ("strawberry-graphql", "graphql-core", "starlette", "uvicorn",
                                                     "asyncpg", "orjson", "uvloop", "httptools")}}


def run(args) -> int:
    global QUIET_WAIT
    QUIET_WAIT = args.quiet_wait
    ops = operations.load(args.op)
    wrk.ensure_wrk()
    workers_list = [int(w) for w in str(args.workers).split(",") if w]
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log_dir = database.BENCH_DIR / "logs" / stamp
    hub_extra_env = servers.RATE_LIMIT_ON if args.rate_limit == "on" else {}
    out: dict[str, Any] = {
        "timestamp": stamp, "machine": _machine(),
        "config": {"duration_s": args.duration, "warmup_s": args.warmup, "connections": args.connections,
                   "threads": args.threads, "workers": workers_list, "scale": database.SCALE,
                   "database": database.BENCH_DB, "hub_env": {**servers.HUB_ENV, **hub_extra_env},
                   "rate_limit": args.rate_limit,
                   "consumer": database.CONSUMER_DEPARTMENT, "adhoc": args.adhoc},
        "operations": {},
    }
    with database.server(log=console.print) as url:
        token = __import__("asyncio").run(database.prepare(url, log=console.print))
        console.print("checking the operations in-process and counting their SQL statements ...")
        counts = count_statements(url, token, ops)
        counts_adhoc = count_statements(url, token, ops, adhoc=True) if args.adhoc else {}
        pg_pids = lambda: database.backend_pids(url)  # noqa: E731
        out["audit_ceiling"] = audit_ceiling(url)
        console.print(f"audit chain ceiling: {out['audit_ceiling']['serial_per_s']:,.0f} entries/s from one writer, "
                      f"{out['audit_ceiling']['concurrent_per_s']:,.0f}/s from {args.connections} "
                      f"(synchronous_commit {out['audit_ceiling']['synchronous_commit']}); group commit "
                      f"{out['audit_ceiling'].get('group_commit_per_s', 0):,.0f}/s from {args.connections} "
                      f"(mean batch {out['audit_ceiling'].get('group_commit_mean_batch', 0):.1f})")
        for op in ops:
            c = counts[op.name]
            out["operations"][op.name] = {
                "file": str(op.path.relative_to(operations.OPERATIONS_DIR.parent)),
                "sql": {k: v for k, v in c.items() if k != "data"},
                "sql_adhoc": {k: v for k, v in counts_adhoc[op.name].items() if k != "data"} if args.adhoc else None,
                "adhoc_same_data": _same(counts_adhoc[op.name]["data"], c["data"]) if args.adhoc else None,
                "hub": {}, "hub_adhoc": {}, "floor": {},
            }
        for n in workers_list:
            console.print(f"[bold]hub, {n} worker(s)[/bold] ({args.duration:g} s per operation, -c{args.connections} "
                          f"-t{args.threads}, rate limit {args.rate_limit})")
            with servers.hub(url, n, log_dir, extra_env=hub_extra_env) as server:
                res = measure(server, ops, token, counts, pg_pids, args.duration, args.warmup, args.connections,
                              args.threads)
                for name, row in res.items():
                    out["operations"][name]["hub"][str(n)] = row
                if args.adhoc:
                    res = measure(server, ops, token, counts, pg_pids, args.duration, args.warmup,
                                  args.connections, args.threads, adhoc=True)
                    for name, row in res.items():
                        out["operations"][name]["hub_adhoc"][str(n)] = row
            if not args.no_floor:
                # the floor has hand-written SQL for some shapes only (tests/bench/floor.py); the others have no floor
                floor_ops = [op for op in ops if op.name in HANDLERS]
                console.print(f"[bold]floor, {n} worker(s)[/bold] (no floor for: "
                              f"{', '.join(op.name for op in ops if op.name not in HANDLERS) or 'none'})")
                with servers.floor(url, n, log_dir) as server:
                    res = measure(server, floor_ops, None, counts, pg_pids, args.duration, args.warmup,
                                  args.connections, args.threads)
                for name, row in res.items():
                    out["operations"][name]["floor"][str(n)] = row
    out["machine"]["loadavg_after"] = os.getloadavg()
    path = database.BENCH_DIR / f"{stamp}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    from tests.bench.report import print_run

    print_run(out, console)
    console.print(f"results: {path}")
    bad = [(name, kind, w) for name, o in out["operations"].items() for kind in ("hub", "hub_adhoc", "floor")
           for w, r in o[kind].items() if r["bad_status"] or r["bad_errors"] or r["socket_errors"]]
    if bad:
        console.print(f"[red]responses with errors: {bad}[/red]")
        return 1
    return 0
