"""Instructions per request of the hub's app, counted by callgrind: ``python -m tests.bench instructions``.

A wall-clock benchmark needs a quiet machine; an instruction count does not. Each bench operation is sent N times
to the hub's ASGI app driven in process (no uvicorn, 8 concurrent clients, production settings, tracing off, rate
limit off) in a child process run under ``valgrind --tool=callgrind``, with instrumentation switched on only around
the timed requests (``callgrind_control -i on|off``): start-up, warm-up and PostgreSQL (another process) are not
counted. Repeated runs agree within about 1 % on a loaded machine, so two versions of the code can be compared
there: ``--tree DIR`` (e.g. a ``git worktree`` of another commit) runs that checkout's ``hub`` against the same
database, one after the other, and the table gives each tree's count over the first's.

The child's logging is configured as a ``hub serve`` worker's (to the null device), so each request's access line
is counted. What it counts is work, not time: cache misses, system calls, the HTTP server and the database are not
in it, so it complements ``make bench`` (side by side with PostGraphile) and never replaces it. Under callgrind the
app runs ~50 times slower, which would let time-based caches expire inside the timed requests (a refresh of the
sharing policy would then be counted as if every few hundred requests paid it); the child sets
``HUB_POLICY_CACHE_SECONDS=3600`` so that none does. Hand-written: no library drives an ASGI app under callgrind.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CLIENTS = 8
WARMUP_PER_CLIENT = 40


def instructions(args) -> int:
    """The parent: prepares the bench database, runs one child under callgrind per (operation, tree)."""
    from rich.console import Console
    from rich.table import Table

    from tests.bench import database, operations, servers

    console = Console()
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (make bench-instructions installs Debian's valgrind)")
    trees = [database.ROOT, *(Path(t).resolve() for t in args.tree or [])]
    for tree in trees[1:]:
        if not (tree / "hub" / "app.py").exists():
            raise SystemExit(f"{tree} is not a checkout of the hub (no hub/app.py)")
    ops = operations.load(args.op)
    requests = max(CLIENTS, args.requests // CLIENTS * CLIENTS)  # the same number for every client
    results: dict[str, dict[str, float]] = {}
    with database.server(log=console.print) as url:
        token = asyncio.run(database.prepare(url, log=console.print))
        for op in ops:
            for tree in trees:
                count = _count(tree, url, token, op.body(), requests, servers.HUB_ENV)
                results.setdefault(op.name, {})[str(tree)] = count
                console.print(f"{op.name} ({tree.name}): {count:,.0f} instructions per request")
    table = Table(title=f"instructions per request ({requests} requests each, in process)")
    table.add_column("operation")
    for i, tree in enumerate(trees):
        table.add_column(tree.name if i else f"{tree.name} (this checkout)", justify="right")
        if i:
            table.add_column(f"{tree.name} / this", justify="right")
    for name, counts in results.items():
        base = counts[str(trees[0])]
        row = [name, f"{base:,.0f}"]
        for tree in trees[1:]:
            row += [f"{counts[str(tree)]:,.0f}", f"{counts[str(tree)] / base:.3f}"]
        table.add_row(*row)
    console.print(table)
    out = database.BENCH_DIR / f"instructions-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({"requests": requests, "trees": [str(t) for t in trees], "results": results},
                              indent=2))
    console.print(f"results: {out}")
    return 0


def _count(tree: Path, url: str, token: str, body: bytes, requests: int, hub_env: dict[str, str]) -> float:
    """Instructions per request of ``tree``'s app answering ``body`` ``requests`` times."""
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp, "job.json")
        job.write_text(json.dumps({"url": url, "token": token, "body": body.decode(), "requests": requests}))
        env = {**os.environ, **hub_env, "PYTHONPATH": str(tree), "HUB_POLICY_CACHE_SECONDS": "3600",
               "DATABASE_URL": url}
        done = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                               f"--callgrind-out-file={tmp}/callgrind.out", sys.executable, __file__, str(job)],
                              cwd=tree, env=env, capture_output=True, text=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise SystemExit(f"the callgrind run of {tree} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return int(found.group(1)) / requests


async def _drive(job: dict) -> None:
    """The child: ``requests`` POSTs of ``body`` to the app of the checkout on PYTHONPATH, counted alone."""
    from hub.app import create_app
    from hub.settings import Settings
    from hub.telemetry.logs import configure_logging

    settings = Settings.from_env(os.environ)
    # as each worker of ``hub serve`` does (hub.app.app_from_env): the access line is part of a request's work
    configure_logging(settings.log_level, settings.log_format, stream=open(os.devnull, "w"),  # noqa: SIM115
                      uvicorn_access=not settings.access_log)
    app = create_app(settings)
    body = job["body"].encode()
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
               (b"authorization", f"Bearer {job['token']}".encode()), (b"content-length", str(len(body)).encode())]

    async def one(state: dict) -> None:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000),
                 "server": ("127.0.0.1", 8000), "state": state}
        given = False

        async def receive() -> dict:
            nonlocal given
            if given:
                await asyncio.Event().wait()  # the client never disconnects
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] != 200 or b'"errors"' in sent[-1].get("body", b""):
            raise SystemExit(f"the hub answered {sent[0]['status']}: {sent[-1].get('body', b'')[:500]!r}")

    async def client(state: dict, n: int) -> None:
        for _ in range(n):
            await one(state)

    async with app.router.lifespan_context(app) as lifespan_state:
        state = dict(lifespan_state or {})
        await asyncio.gather(*(client(state, WARMUP_PER_CLIENT) for _ in range(CLIENTS)))
        pid = str(os.getpid())
        subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
        await asyncio.gather(*(client(state, job["requests"] // CLIENTS) for _ in range(CLIENTS)))
        subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)


if __name__ == "__main__":  # the child, run by path so that ``hub`` comes from the tree on PYTHONPATH
    sys.path.pop(0)  # this folder: its module names (profile, tracing ...) must not shadow anything
    import uvloop

    uvloop.run(_drive(json.loads(Path(sys.argv[1]).read_text())))
