"""Printing bench results (rich tables) and comparing two result files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def _f(v: float | None, digits: int = 0) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "—"
    r = a / b
    colour = "green" if r >= 1 else "yellow" if r >= 0.5 else "red"
    return f"[{colour}]{r:.2f}[/{colour}]"


def print_run(out: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    workers = [str(w) for w in out["config"]["workers"]]
    cfg = out["config"]
    table = Table(title=f"hub vs floor — {cfg['scale']} data, wrk -c{cfg['connections']} -t{cfg['threads']}, "
                        f"{cfg['duration_s']:g} s per run, {out['machine']['cpus']} CPUs shared by wrk, server and "
                        f"PostgreSQL", show_lines=False)
    table.add_column("operation")
    table.add_column("SQL\n(+audit)", justify="right")
    table.add_column("round\ntrips", justify="right")
    for w in workers:
        table.add_column(f"hub w{w}\nreq/s", justify="right")
        table.add_column(f"p50\nms", justify="right")
        table.add_column(f"p99\nms", justify="right")
        table.add_column(f"floor w{w}\nreq/s", justify="right")
        table.add_column(f"hub/\nfloor", justify="right")
    table.add_column("PostGraphile\n4.14 / 5.1", justify="right")
    table.add_column("best hub /\nPG 4 · PG 5", justify="right")
    for name, o in out["operations"].items():
        row = [name.removeprefix("Bench"), f"{o['sql']['statements']} (+1)", str(o["sql"]["round_trips"])]
        best = None
        for w in workers:
            h = o["hub"].get(w)
            f = o["floor"].get(w)
            if h:
                best = max(best or 0, h["rps"])
            row += [_f(h and h["rps"]), _f(h and h["p50_ms"], 1), _f(h and h["p99_ms"], 1), _f(f and f["rps"]),
                    _ratio(h and h["rps"], f and f["rps"])]
        pg = o.get("postgraphile")
        if pg:
            row += [f"{pg[0]:,.0f} / {pg[1]:,.0f}", f"{_ratio(best, pg[0])} · {_ratio(best, pg[1])}"]
        else:
            row += ["—", "—"]
        table.add_row(*row)
    console.print(table)

    cpu = Table(title="CPU per request (ms) during the timed runs: server processes · PostgreSQL backends · wrk; machine busy % (other processes' share when > 5%)")
    cpu.add_column("operation")
    for w in workers:
        cpu.add_column(f"hub w{w}", justify="right")
        cpu.add_column(f"floor w{w}", justify="right")
    cpu.add_column("hub resp.\nKiB", justify="right")
    for name, o in out["operations"].items():
        row = [name.removeprefix("Bench")]
        for w in workers:
            for kind in ("hub", "floor"):
                r = o[kind].get(w)
                if r:
                    c = r["cpu_ms_per_request"]
                    other = c.get("other_share", 0.0)
                    row.append(f"{c['server']:.2f} · {c['postgres']:.2f} · {c['wrk']:.2f}; {100 * c['utilisation']:.0f}%"
                               + (f" [yellow](other {100 * other:.0f}%)[/yellow]" if other > 0.05 else ""))
                else:
                    row.append("—")
        row.append(f"{o['sql']['response_bytes'] / 1024:.1f}")
        cpu.add_row(*row)
    console.print(cpu)
    rss = {w: [r["rss_mb"] for o in out["operations"].values() if (r := o["hub"].get(w))] for w in workers}
    for w, samples in rss.items():
        if samples:
            console.print(f"hub w{w} worker RSS after its runs: " + ", ".join(f"{x:.0f}" for x in samples[-1]) + " MiB")


def compare(a_path: Path, b_path: Path, console: Console | None = None) -> int:
    console = console or Console()
    a = json.loads(Path(a_path).read_text())
    b = json.loads(Path(b_path).read_text())
    table = Table(title=f"{Path(a_path).name} (A) → {Path(b_path).name} (B)")
    for col, just in (("operation", "left"), ("server", "left"), ("A req/s", "right"), ("B req/s", "right"),
                      ("Δ req/s", "right"), ("p50 ms A → B", "right"), ("p99 ms A → B", "right"),
                      ("SQL A → B", "right")):
        table.add_column(col, justify=just)
    for name, oa in a["operations"].items():
        ob = b["operations"].get(name)
        if ob is None:
            continue
        sql = f"{oa['sql']['statements']} → {ob['sql']['statements']}"
        for kind in ("hub", "floor"):
            for w, ra in oa[kind].items():
                rb = ob[kind].get(w)
                if rb is None:
                    continue
                delta = (rb["rps"] - ra["rps"]) / ra["rps"] * 100 if ra["rps"] else 0.0
                colour = "green" if delta > 3 else "red" if delta < -3 else "white"
                table.add_row(name.removeprefix("Bench"), f"{kind} w{w}", f"{ra['rps']:,.0f}", f"{rb['rps']:,.0f}",
                              f"[{colour}]{delta:+.1f}%[/{colour}]",
                              f"{ra['p50_ms']:.1f} → {rb['p50_ms']:.1f}", f"{ra['p99_ms']:.1f} → {rb['p99_ms']:.1f}",
                              sql if kind == "hub" else "")
    console.print(table)
    return 0
