"""Printing bench results (rich tables) and comparing two result files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tests.bench.servers import capacity_estimate


def _f(v: float | None, digits: int = 0) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "—"
    r = a / b
    colour = "green" if r >= 1 else "yellow" if r >= 0.5 else "red"
    return f"[{colour}]{r:.2f}[/{colour}]"


KINDS = (("hub", "hub"), ("hub_adhoc", "hub ad-hoc"), ("floor", "floor"))


def print_run(out: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    workers = [str(w) for w in out["config"]["workers"]]
    cfg = out["config"]
    ops = out["operations"]
    kinds = [(k, label) for k, label in KINDS if any(o.get(k) for o in ops.values())]
    for w in workers:
        table = Table(title=f"{w} worker(s) — {cfg['scale']} data, wrk -c{cfg['connections']} -t{cfg['threads']}, "
                            f"{cfg['duration_s']:g} s per run, rate limit {cfg.get('rate_limit', 'off')}; "
                            f"{out['machine']['cpus']} CPUs shared by wrk, server "
                            f"and PostgreSQL. hub = registered document text, hub ad-hoc = the same text unregistered "
                            f"(general path)")
        table.add_column("operation")
        table.add_column("SQL +audit\n(ad-hoc)", justify="right")
        table.add_column("round\ntrips", justify="right")
        for _, label in kinds:
            table.add_column(f"{label}\nreq/s", justify="right")
            table.add_column("p50\nms", justify="right")
            table.add_column("p99\nms", justify="right")
        if any(k == "floor" for k, _ in kinds):
            for k, label in kinds:
                if k != "floor":
                    table.add_column(f"{label}\n/ floor", justify="right")
        for name, o in ops.items():
            sql, adhoc = o["sql"], o.get("sql_adhoc")
            sql_text = f"{sql['statements']} +1" + (f" ({adhoc['statements']} +1)" if adhoc else "")
            trips = str(sql["round_trips"]) + (f" ({adhoc['round_trips']})" if adhoc else "")
            row = [name.removeprefix("Bench"), sql_text, trips]
            for k, _ in kinds:
                r = o.get(k, {}).get(w)
                row += [_f(r and r["rps"]), _f(r and r["p50_ms"], 1), _f(r and r["p99_ms"], 1)]
            floor = o.get("floor", {}).get(w)
            if any(k == "floor" for k, _ in kinds):
                for k, _ in kinds:
                    if k != "floor":
                        r = o.get(k, {}).get(w)
                        row.append(_ratio(r and r["rps"], floor and floor["rps"]))
            table.add_row(*row)
        console.print(table)

    cpu = Table(title="CPU per request (ms) during the timed runs: server processes · PostgreSQL backends · wrk; "
                      "machine busy % (other processes' share when > 5%) → req/s the CPUs would allow without "
                      "other processes (servers.capacity_estimate)")
    cpu.add_column("operation")
    for w in workers:
        for _, label in kinds:
            cpu.add_column(f"{label} w{w}", justify="right")
    cpu.add_column("hub resp.\nKiB", justify="right")
    for name, o in ops.items():
        row = [name.removeprefix("Bench")]
        for w in workers:
            for k, _ in kinds:
                r = o.get(k, {}).get(w)
                if r:
                    c = r["cpu_ms_per_request"]
                    other = c.get("other_share", 0.0)
                    est = r.get("capacity_estimate_rps") or capacity_estimate(c, int(w), out["machine"]["cpus"])
                    row.append(f"{c['server']:.2f} · {c['postgres']:.2f} · {c['wrk']:.2f}; {100 * c['utilisation']:.0f}%"
                               + (f" [yellow](other {100 * other:.0f}%)[/yellow]" if other > 0.05 else "")
                               + (f" → {est:,.0f}" if est else ""))
                else:
                    row.append("—")
        row.append(f"{o['sql']['response_bytes'] / 1024:.1f}")
        cpu.add_row(*row)
    console.print(cpu)
    ceiling = out.get("audit_ceiling")
    if ceiling:
        console.print(f"audit chain ceiling (one INSERT per entry, serialised until its commit): "
                      f"{ceiling['serial_per_s']:,.0f}/s from one writer, {ceiling['concurrent_per_s']:,.0f}/s from "
                      f"{cfg['connections']} (synchronous_commit {ceiling['synchronous_commit']}); the hub's group "
                      f"commit: {ceiling.get('group_commit_per_s', 0):,.0f}/s from {cfg['connections']} operations")
    for w in workers:
        samples = [r["rss_mb"] for o in ops.values() for k, _ in kinds if k != "floor" and (r := o.get(k, {}).get(w))]
        if samples:
            console.print(f"hub w{w} worker RSS after its runs: " + ", ".join(f"{x:.0f}" for x in samples[-1]) + " MiB")


def compare(a_path: Path, b_path: Path, console: Console | None = None) -> int:
    console = console or Console(width=None if Console().is_terminal else 160)
    a = json.loads(Path(a_path).read_text())
    b = json.loads(Path(b_path).read_text())
    limits = [run["config"].get("rate_limit", "off") for run in (a, b)]
    table = Table(title=f"{Path(a_path).name} (A) → {Path(b_path).name} (B); rate limit {limits[0]} → {limits[1]}")
    for col, just in (("operation", "left"), ("server", "left"), ("A req/s", "right"), ("B req/s", "right"),
                      ("Δ req/s", "right"), ("p50 ms A → B", "right"), ("p99 ms A → B", "right"),
                      ("SQL A → B", "right"), ("other CPU % A → B", "right")):
        table.add_column(col, justify=just)
    for name, oa in a["operations"].items():
        ob = b["operations"].get(name)
        if ob is None:
            continue
        sql = f"{oa['sql']['statements']} → {ob['sql']['statements']}"
        for kind in ("hub", "hub_adhoc", "floor"):
            for w, ra in oa.get(kind, {}).items():
                rb = ob.get(kind, {}).get(w)
                if rb is None:
                    continue
                delta = (rb["rps"] - ra["rps"]) / ra["rps"] * 100 if ra["rps"] else 0.0
                colour = "green" if delta > 3 else "red" if delta < -3 else "white"
                table.add_row(name.removeprefix("Bench"), f"{kind.replace('_', ' ')} w{w}", f"{ra['rps']:,.0f}", f"{rb['rps']:,.0f}",
                              f"[{colour}]{delta:+.1f}%[/{colour}]",
                              f"{ra['p50_ms']:.1f} → {rb['p50_ms']:.1f}", f"{ra['p99_ms']:.1f} → {rb['p99_ms']:.1f}",
                              sql if kind == "hub" else "",
                              f"{100 * ra['cpu_ms_per_request'].get('other_share', 0):.0f} → "
                              f"{100 * rb['cpu_ms_per_request'].get('other_share', 0):.0f}")
    if len(table.rows) == 0:
        console.print("no operation/server in common")
    console.print(table)
    return 0


def markdown(out: dict[str, Any]) -> str:
    """The run as a Markdown table (for the README's performance section)."""
    workers = [str(w) for w in out["config"]["workers"]]
    ops = out["operations"]
    head = ["operation", "SQL (+audit)"]
    for w in workers:
        head += [f"hub w{w}", f"ad-hoc w{w}", f"floor w{w}"]
    head += ["best hub / floor", "hub CPU ms (reg · ad-hoc)", "PG CPU ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, o in ops.items():
        row = [name.removeprefix("Bench"), f"{o['sql']['statements']} (+1)"]
        best = best_floor = None
        for w in workers:
            h, a, f = (o.get(k, {}).get(w) for k in ("hub", "hub_adhoc", "floor"))
            row += [f"{h['rps']:,.0f} (p50 {h['p50_ms']:.0f} / p99 {h['p99_ms']:.0f} ms)" if h else "—",
                    f"{a['rps']:,.0f}" if a else "—", f"{f['rps']:,.0f}" if f else "—"]
            if h and (best is None or h["rps"] > best):
                best = h["rps"]
            if f and (best_floor is None or f["rps"] > best_floor):
                best_floor = f["rps"]
        row.append(f"{best / best_floor:.2f}" if best and best_floor else "—")
        w = workers[0]
        h, a = o.get("hub", {}).get(w), o.get("hub_adhoc", {}).get(w)
        row.append(f"{h['cpu_ms_per_request']['server']:.1f} · {a['cpu_ms_per_request']['server']:.1f}" if h and a
                   else f"{h['cpu_ms_per_request']['server']:.1f}" if h else "—")
        row.append(f"{h['cpu_ms_per_request']['postgres']:.1f}" if h else "—")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
