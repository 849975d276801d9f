"""Starting and stopping the hub and the floor server on 127.0.0.1, and measuring their processes."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import httpx
import psutil

from hub import ROOT

BIN = Path(sys.executable).parent

# Production settings (HUB_ENV=production: no GraphiQL, no introspection; authentication is always on),
# tracing/metrics exporters off. Deviation: the per-consumer rate limit (50 req/s) is off, otherwise the
# bench measures HTTP 429s; ``run --rate-limit on`` (RATE_LIMIT_ON) turns it on with a limit the bench
# load never reaches, so that its cost is measured.
HUB_ENV = {
    "HUB_ENV": "production",
    "HUB_RATE_LIMIT_PER_SECOND": "0",
    "OTEL_SDK_DISABLED": "true",
    "OTEL_TRACES_EXPORTER": "none",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
}

RATE_LIMIT_ON = {"HUB_RATE_LIMIT_PER_SECOND": "1000000", "HUB_RATE_LIMIT_BURST": "1000000"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    kind: str  # "hub" or "floor"
    workers: int
    port: int
    proc: subprocess.Popen
    log_path: Path
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the server itself (1 worker) or uvicorn's worker children."""
        try:
            parent = psutil.Process(self.proc.pid)
            children = [c for c in parent.children(recursive=False)
                        if "resource_tracker" not in " ".join(c.cmdline())]
        except psutil.NoSuchProcess:
            return []
        return [c.pid for c in children] if self.workers > 1 else [self.proc.pid]

    def all_pids(self) -> list[int]:
        try:
            parent = psutil.Process(self.proc.pid)
            return [parent.pid, *(c.pid for c in parent.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []

    def rss_mb(self) -> list[float]:
        out = []
        for pid in self.worker_pids():
            try:
                out.append(psutil.Process(pid).memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                pass
        return out


def _healthz(url: str) -> bool:
    return httpx.get(url + "/healthz", timeout=1.0).status_code == 200


def _wait_ready(server: Server, timeout: float = 90.0, probe: Callable[[str], bool] = _healthz) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.kind} exited with {server.proc.returncode}; see {server.log_path}")
        try:
            if probe(server.url):
                if server.workers == 1 or len(server.worker_pids()) >= server.workers:
                    time.sleep(0.5 if server.workers == 1 else 1.5)  # let every worker finish its start-up
                    return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.kind} not ready after {timeout:.0f} s; see {server.log_path}")


def _stop(server: Server) -> None:
    proc = server.proc
    if proc.poll() is None:
        pids = server.all_pids()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            for pid in reversed(pids):  # only the processes this bench started
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait(timeout=10)


@contextmanager
def served(kind: str, workers: int, cmd_for_port, env: dict, log_dir: Path, cwd: Path = ROOT,
            probe: Callable[[str], bool] = _healthz) -> Iterator[Server]:
    """Start ``cmd_for_port(port)`` in ``cwd`` (logging to ``<log_dir>/<kind>-wN.log``), wait until ``probe(url)``
    says it answers, stop it."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{kind}-w{workers}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd_for_port(port), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    server = Server(kind, workers, port, proc, log_path)
    try:
        _wait_ready(server, probe=probe)
        yield server
    finally:
        _stop(server)


def hub(database_url: str, workers: int, log_dir: Path, extra_env: dict | None = None,
        wrap: list[str] | None = None):
    """``hub serve --workers N`` with production settings against ``database_url`` (a context manager)."""
    env = {**os.environ, **HUB_ENV, "DATABASE_URL": database_url, **(extra_env or {})}
    return served("hub", workers, lambda port: [
        *(wrap or []), str(BIN / "hub"), "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers)], env, log_dir)


def floor(database_url: str, workers: int, log_dir: Path):
    """The floor server (tests/bench/floor.py) under uvicorn with the same number of workers (a context
    manager)."""
    env = {**os.environ, "DATABASE_URL": database_url}
    return served("floor", workers, lambda port: [
        str(BIN / "python"), "-m", "uvicorn", "tests.bench.floor:create_app", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"], env, log_dir)


# --- CPU accounting --------------------------------------------------------------------------------

def _cpu_of(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            out[pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return out


class CpuMeter:
    """CPU seconds spent by the server's processes, PostgreSQL's and wrk (the finished children) over a run."""

    def __init__(self, server_pids: list[int], pg_pids_fn: Callable[[], list[int]]):
        self.server_pids = server_pids
        self.pg_pids_fn = pg_pids_fn

    def __enter__(self) -> "CpuMeter":
        self.t0 = time.monotonic()
        self.machine0 = psutil.cpu_times()
        self.server0 = _cpu_of(self.server_pids)
        self.pg0 = _cpu_of(self.pg_pids_fn())
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.children0 = ru.ru_utime + ru.ru_stime
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.monotonic() - self.t0
        server1 = _cpu_of(self.server_pids)
        pg1 = _cpu_of(self.pg_pids_fn())
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.wrk = ru.ru_utime + ru.ru_stime - self.children0
        self.server = sum(v - self.server0.get(p, v) for p, v in server1.items())
        # New PostgreSQL backends (connections opened during the run) count from zero.
        self.pg = sum(v - self.pg0.get(p, 0.0) for p, v in pg1.items())
        m1 = psutil.cpu_times()
        busy = lambda t: t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)  # noqa: E731
        self.machine_busy = busy(m1) - busy(self.machine0)

    def per_request_ms(self, requests: int) -> dict[str, float]:
        n = max(requests, 1)
        capacity = self.elapsed * (os.cpu_count() or 1)
        other = max(0.0, self.machine_busy - self.server - self.pg - self.wrk)
        return {"server": 1000 * self.server / n, "postgres": 1000 * self.pg / n, "wrk": 1000 * self.wrk / n,
                "machine": 1000 * self.machine_busy / n, "utilisation": self.machine_busy / capacity,
                "other_share": other / capacity}


def capacity_estimate(cpu_ms: dict[str, float], workers: int, cpus: int | None = None) -> float | None:
    """req/s the machine would sustain if the server, PostgreSQL and wrk had its CPUs to themselves:
    the CPUs divided by their CPU time per request, and at most what ``workers`` single-threaded server
    processes can do. A model, for runs disturbed by other processes (the measured req/s are not)."""
    cpus = cpus or os.cpu_count() or 1
    total = cpu_ms["server"] + cpu_ms["postgres"] + cpu_ms["wrk"]
    if total <= 0 or cpu_ms["server"] <= 0:
        return None
    return min(1000 * cpus / total, 1000 * min(workers, cpus) / cpu_ms["server"])


def wait_until_quiet(console=None, threshold: float = 15.0, max_wait: float = 60.0) -> float:
    """Wait (at most ``max_wait`` s) until the machine is less than ``threshold`` % busy over one second:
    other processes on the same 2 cores (a test run) distort the figures. Returns the last busy %."""
    deadline = time.monotonic() + max_wait
    warned = False
    while True:
        busy = psutil.cpu_percent(interval=1.0)
        if busy < threshold or time.monotonic() > deadline:
            if busy >= threshold and console is not None:
                console.print(f"  [yellow]machine still {busy:.0f}% busy; measuring anyway[/yellow]")
            return busy
        if not warned and console is not None:
            console.print(f"  [yellow]machine {busy:.0f}% busy (other processes); waiting ...[/yellow]")
            warned = True
