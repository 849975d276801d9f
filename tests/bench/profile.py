"""``python -m tests.bench profile``: py-spy samples the hub (1 worker, production settings) while wrk
drives one operation, and the samples are summarised by where the time goes.

Each sample is given to ONE category: the first frame, from the innermost outwards, whose file belongs
to a category (stdlib helpers such as asyncio's task machinery, contextlib or dataclass ``__init__``s
pass to their caller; the uvloop event loop itself shows as ``asyncio/runners.py``). Idle time
(waiting in epoll) is not sampled. PostgreSQL and wrk run in other processes: their CPU is in
``run``'s "CPU per request" table.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tests.bench import database, operations, servers, wrk

console = Console(width=None if Console().is_terminal else 160)

# (category, file prefixes); checked in this order for each frame.
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("SQL: asyncpg (incl. pool acquire/reset)", ("asyncpg/",)),
    ("audit entry (hub/governance/audit.py)", ("hub/governance/audit.py",)),
    ("parse / validate / limits", ("graphql/language/", "graphql/validation/", "graphql/utilities/",
                                   "strawberry/extensions/parser_cache", "strawberry/extensions/validation_cache",
                                   "strawberry/extensions/max_tokens", "strawberry/extensions/query_depth_limiter",
                                   "strawberry/extensions/max_aliases", "strawberry/extensions/add_validation_rules",
                                   "strawberry/extensions/disable_introspection", "hub/api/document_limits.py:parse")),
    ("sharing guards & masking (hub/governance/access.py)", ("hub/governance/access.py",)),
    ("compiled plans of registered documents (hub/compiled, fastpath, specs)",
     ("hub/api/compiled.py", "hub/api/fastpath.py", "hub/api/specs.py", "hub/api/spec_helpers.py", "<plan")),
    ("resolvers, DataLoaders, connections", ("resolvers/", "hub/api/loaders.py", "aiodataloader/", "hub/api/pagination.py",
                                             "hub/api/context.py", "hub/db/pools.py")),
    ("GraphQL execution (graphql-core + strawberry)", ("graphql/", "strawberry/schema/", "strawberry/types/",
                                                       "strawberry/execution/", "strawberry/utils/",
                                                       "strawberry/extensions/", "strawberry/annotation",
                                                       "strawberry/field", "strawberry/relay", "hub/api/schema.py",
                                                       "hub/api/errors.py")),
    ("HTTP view, request parsing, JSON encoding", ("strawberry/http/", "strawberry/asgi/", "hub/api/view.py",
                                                   "hub/api/over_http.py", "hub/api/trusted.py", "orjson", "json/")),
    ("middleware: auth, rate limit, body size, telemetry", ("hub/http/auth.py", "hub/api/document_limits.py", "hub/telemetry/observe.py",
                                                            "hub/api/telemetry.py", "hub/telemetry/tracing.py",
                                                            "hub/telemetry/metrics.py", "opentelemetry/",
                                                            "prometheus_client/")),
    ("logging (uvicorn access log, hub logs)", ("logging/", "hub/telemetry/logs.py")),
    ("network: uvicorn, starlette, event loop", ("uvicorn/", "starlette/", "httptools/", "uvloop/",
                                                 "asyncio/runners.py", "asyncio/base_events.py",
                                                 "asyncio/selector_events.py", "asyncio/events.py", "anyio/")),
]
# Samples counted if ANY frame of the stack matches (inclusive), to size a few specific costs.
INCLUSIVE: list[tuple[str, str]] = [
    ("asyncpg pool reset query on release", r"Connection\.reset \(asyncpg/|PoolConnectionHolder\.release \(asyncpg/"),
    ("asyncpg statements (fetch/execute, incl. reset)", r"\(asyncpg/connection\.py"),
    ("asyncpg pool acquire", r"PoolAcquireContext|Pool\._acquire \(asyncpg/"),
    ("audit INSERT (AuditExtension._write)", r"AuditExtension\._write|record \(hub/audit\.py"),
    ("parse (strawberry ParserCache)", r"on_parse \(|parse_document|cached_parse_document"),
    ("validate (ValidationCache, cost)", r"on_validate \("),
    ("QueryCost / DocumentAnalysis", r"DocumentAnalysis|QueryCost"),
    ("JSON encoding (encode_json)", r"encode_json \("),
    ("rows -> strawberry objects (row_converter)", r"row_converter"),
    ("build_connection (edges, cursors)", r"build_connection \("),
    ("sharing guards (hub/governance/access.py)", r"\(hub/access\.py"),
    ("DataLoader machinery (aiodataloader)", r"\(aiodataloader/"),
    ("asyncio tasks per field (gather_with_cancel)", r"gather_with_cancel"),
    ("strawberry resolver wrapper (from_resolver)", r"from_resolver\.<locals>"),
    ("tracing / metrics libraries (opentelemetry, prometheus_client, hub/tracing, hub/metrics)",
     r"\(opentelemetry/|\(prometheus_client/|\(hub/tracing\.py|\(hub/metrics\.py"),
    ("get_context (policy, context)", r"get_context \("),
]
_FILE = re.compile(r"\((.*?)(?::\d+)?\)$")


def _file_of(frame: str) -> str:
    m = _FILE.search(frame)
    return m.group(1) if m else frame


def categorise(frames: list[str]) -> str:
    for frame in reversed(frames):
        f = _file_of(frame)
        for name, prefixes in CATEGORIES:
            if f.startswith(prefixes) or (f == "hub/api/document_limits.py" and name.startswith("parse")
                                          and re.search(r"(Limiter|ParserCache|Rule|Cost|Analysis|Cache)", frame)):
                return name
    return "other (stdlib, unattributed)"


def summarise(raw: Path) -> dict:
    cats: Counter = Counter()
    self_fn: Counter = Counter()
    incl: Counter = Counter()
    total = 0
    patterns = [(label, re.compile(rx)) for label, rx in INCLUSIVE]
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        cats[categorise(frames)] += count
        self_fn[frames[-1]] += count
        joined = ";".join(frames)
        for label, rx in patterns:
            if rx.search(joined):
                incl[label] += count
    pct = lambda c: round(100 * c / total, 1) if total else 0.0  # noqa: E731
    return {"samples": total,
            "categories": {k: pct(v) for k, v in cats.most_common()},
            "inclusive": {k: pct(incl[k]) for k, _ in INCLUSIVE},
            "top_self": [(k, pct(v)) for k, v in self_fn.most_common(20)]}


def print_summary(name: str, s: dict) -> None:
    t = Table(title=f"{name}: where the hub process spends its CPU ({s['samples']} samples)")
    t.add_column("category")
    t.add_column("%", justify="right")
    for k, v in s["categories"].items():
        t.add_row(k, f"{v:.1f}")
    console.print(t)
    t = Table(title="inclusive (a sample counts in every line whose code is on its stack)")
    t.add_column("cost")
    t.add_column("%", justify="right")
    for k, v in s["inclusive"].items():
        t.add_row(k, f"{v:.1f}")
    console.print(t)
    t = Table(title="top functions (self)")
    t.add_column("function")
    t.add_column("%", justify="right")
    for k, v in s["top_self"][:15]:
        t.add_row(k, f"{v:.1f}")
    console.print(t)


def resummarise(directory: Path) -> int:
    """Summarise the raw py-spy files of an earlier profile run again (after changing the categories)."""
    results = {}
    for raw in sorted(Path(directory).glob("*.txt")):
        s = summarise(raw)
        results[raw.stem] = s
        print_summary(raw.stem, s)
    (Path(directory) / "summary-categories.json").write_text(json.dumps(results, indent=2))
    return 0


def profile(args) -> int:
    if args.from_dir:
        return resummarise(Path(args.from_dir))
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(pyspy).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install -e '.[dev]'")
    wanted = args.op or ["BenchPostingsFlat", "BenchPostingsNested"]
    ops = operations.load(wanted)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = database.BENCH_DIR / f"profile-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    with database.server(log=console.print) as url:
        token = asyncio.run(database.prepare(url, log=console.print))
        variants = {"registered": [False], "adhoc": [True], "both": [False, True]}[args.path]
        for op, adhoc in [(op, adhoc) for op in ops for adhoc in variants]:
            name = f"{op.name}{' (ad-hoc text: general path)' if adhoc else ' (registered text)'}"
            with servers.hub(url, 1, out_dir) as server:
                body = [op.body(adhoc=adhoc)]
                wrk.run(server.url, body, token, 3)
                plain = wrk.run(server.url, body, token, args.duration / 2)
                raw = out_dir / f"{op.key}{'-adhoc' if adhoc else ''}.txt"
                spy = subprocess.Popen([pyspy, "record", "--pid", str(server.proc.pid), "--rate", str(args.rate),
                                        "--duration", str(int(args.duration)), "--format", "raw", "-o", str(raw)],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                try:
                    profiled = wrk.run(server.url, body, token, args.duration)
                finally:
                    spy_out = spy.communicate(timeout=args.duration + 60)[0]
            if not raw.exists():
                raise SystemExit(f"py-spy wrote no profile: {spy_out[-1000:]}")
            s = summarise(raw)
            s["rps_without_profiler"] = plain.rps
            s["rps_while_profiling"] = profiled.rps
            results[name] = s
            console.print(f"[bold]{name}[/bold]: {plain.rps:.0f} req/s without the profiler, "
                          f"{profiled.rps:.0f} while sampled at {args.rate} Hz")
            print_summary(name, s)
    (out_dir / "summary.json").write_text(json.dumps(results, indent=2))
    console.print(f"raw samples and summary: {out_dir}")
    return 0
