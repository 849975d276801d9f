"""Prometheus metrics, one ``CollectorRegistry`` per app (``app.state.metrics``), served at ``GET /metrics``.

Metrics (all prefixed ``hub_``; see docs/observability.md for what each one tells an operator):

* ``hub_requests_total{operation,outcome}`` and ``hub_request_duration_seconds{operation,outcome}``: HTTP
  requests. ``operation`` is the GraphQL operation (``query Occupations``; ``query`` when anonymous) or
  the route (``/healthz``, ``/sync``, ...; ``other`` for unknown paths); ``outcome`` is ``ok``, ``error``,
  ``denied`` (UNAUTHENTICATED/FORBIDDEN) or ``limited`` (LIMIT_EXCEEDED, HTTP 413/429).
* ``hub_errors_total{code}``: errors by ``extensions.code``.
* ``hub_db_pool_size``, ``hub_db_pool_in_use``, ``hub_db_pool_waiting``, ``hub_db_pool_max_size``
  ``{pool}``: each asyncpg pool (``primary``, a department on its own database, ``replica-N``).
* ``hub_db_statement_duration_seconds{statement}``, ``hub_db_statement_errors_total{statement}``.
* ``hub_dataloader_batch_size{loader}``: keys per DataLoader batch.
* ``hub_gc_pause_seconds{generation}``: pauses of Python's cyclic garbage collector (a long one shows as a
  latency spike of every request in flight; see ``hub.app.tune_gc``).
* ``hub_ingested_rows_total{dataset}``, ``hub_ingest_rejected_rows_total{dataset}``,
  ``hub_sync_feed_lag_seconds{feed}``: for ``/ingest`` and ``/sync`` (``record_ingest``, ``set_feed_lag``).
* ``hub_websockets_open``: authenticated GraphQL websockets open now; ``hub_websockets_refused_total{reason}``:
  sockets closed before any operation, ``too_many_sockets`` (``HUB_WS_MAX_SOCKETS_PER_CONSUMER``) or
  ``init_timeout`` (no ``connection_init`` in time) (``hub.api.ws_limits``, ``hub.api.ws_handler``).

Operation names come from clients: at most ``HUB_METRICS_MAX_OPERATIONS`` distinct ones become labels,
later ones count as ``other``, so a client cannot blow up the number of series.

Several worker processes (``hub serve --workers N``): ``hub serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a
fresh folder (``prepare_multiprocess_dir``, in the run folder, ``hub.run_dir``) before the workers start, and
prometheus-client's multiprocess mode keeps every worker's counters and histograms in files there; any worker
answering ``/metrics`` merges all of them (``MultiProcessCollector``), so every scrape shows the whole
process tree, and a worker that exited or was replaced still counts. A worker writes its counters and histograms
there every ``metric_buffer.FLUSH_SECONDS`` (and before it answers a scrape, and when it ends), not at every
increment (``hub.telemetry.metric_buffer``: the per-increment writes cost 6-7 % of a small request). Gauges: the
pool gauges are summed over the live workers (``livesum``, refreshed by each worker every ``POOL_REFRESH_SECONDS``
and at each scrape), so ``hub_db_pool_max_size`` is the host's capacity; the feed lag is the most recent value set
by any worker.
A worker marks itself dead on exit (``mark_process_dead``); a starting worker clears the live gauges of
workers that died without doing so. ``OperationLabels`` caps the labels per worker, ``_CappedOperations`` the
merged ones for the host (names beyond the cap are summed into ``other``).
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import Response

from hub import __version__
from hub.errors import SetupError
from hub.run_dir import run_dir
from hub.telemetry import metric_buffer

GC_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STATEMENT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 15.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000)

# Names of the sync/ingest metrics (issue 4 increments them through HubMetrics).
INGESTED_ROWS = "hub_ingested_rows"
REJECTED_ROWS = "hub_ingest_rejected_rows"
FEED_LAG_SECONDS = "hub_sync_feed_lag_seconds"

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
POOL_REFRESH_SECONDS = 1.0

_UNSAFE = re.compile(r"[^A-Za-z0-9_ ./{}-]")


class _CappedOperations:
    """The workers' merged families with at most ``limit`` distinct ``operation`` labels for the whole host: each
    worker caps its own names (``OperationLabels``), but the files of every worker, live or exited, are merged, so
    the union is capped again here: the names with the most requests stay, the others are summed into ``other``
    (counters and histogram buckets add up, so the totals are unchanged)."""

    def __init__(self, source: Any, limit: int):
        self.source = source
        self.limit = limit

    def collect(self) -> Iterator[Any]:
        families = list(self.source.collect())
        weight: collections.Counter[str] = collections.Counter()
        names: set[str] = set()
        for family in families:
            for sample in family.samples:
                name = sample.labels.get("operation")
                if name is not None and name != "other":
                    names.add(name)
                    if sample.name.endswith("_total"):
                        weight[name] += sample.value
        if len(names) <= self.limit:
            yield from families
            return
        admitted = set(sorted(names, key=lambda n: (-weight[n], n))[:self.limit])
        for family in families:
            merged: dict[tuple, Any] = {}
            for sample in family.samples:
                labels = sample.labels
                if labels.get("operation", "other") not in admitted and labels.get("operation") is not None:
                    labels = {**labels, "operation": "other"}
                key = (sample.name, tuple(sorted(labels.items())))
                found = merged.get(key)
                merged[key] = (sample._replace(labels=labels) if found is None
                               else found._replace(value=found.value + sample.value))
            family.samples = list(merged.values())
            yield family


class OperationLabels:
    """Caps the distinct values of the ``operation`` label: the first ``limit`` names, then ``other``."""

    def __init__(self, limit: int):
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, name: str) -> str:
        if name in self._seen:
            return name
        clean = _UNSAFE.sub("_", name)[:120]
        with self._lock:
            if clean in self._seen:
                return clean
            if len(self._seen) >= self.limit:
                return "other"
            self._seen.add(clean)
        return clean


class PoolCollector:
    """Pool gauges read at scrape time from the app's ``Databases`` (``pool_gauges``)."""

    def __init__(self, databases: Callable[[], Any]):
        self.databases = databases

    def describe(self) -> list[GaugeMetricFamily]:
        return list(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        db = self.databases()
        families = self._families()
        size, in_use, waiting, max_size = families
        for gauge in (getattr(db, "pool_gauges", None) or {}).values():
            pool = gauge.pool
            try:
                total, idle, limit = pool.get_size(), gauge.idle, pool.get_max_size()
            except Exception:  # noqa: BLE001 - a closed pool has nothing to report
                continue
            size.add_metric([gauge.name], total)
            in_use.add_metric([gauge.name], max(0, total - idle))
            waiting.add_metric([gauge.name], gauge.waiting)
            max_size.add_metric([gauge.name], limit)
        yield from families

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily("hub_db_pool_size", "Open connections of the pool.", labels=["pool"]),
            GaugeMetricFamily("hub_db_pool_in_use", "Connections of the pool running a statement.", labels=["pool"]),
            GaugeMetricFamily("hub_db_pool_waiting", "Statements waiting for a connection of the pool.",
                              labels=["pool"]),
            GaugeMetricFamily("hub_db_pool_max_size", "Configured maximum size of the pool.", labels=["pool"]),
        )


def multiprocess_dir() -> Path | None:
    """The folder of prometheus-client's multiprocess mode when this process runs in it, else None."""
    path = os.environ.get(MULTIPROC_ENV)
    # values.ValueClass is chosen when prometheus_client is imported: the variable must have been set before.
    if not path or getattr(values.ValueClass, "_multiprocess", False) is not True:
        return None
    return Path(path)


def prepare_multiprocess_dir(data_dir: Path, port: int) -> Path:
    """A fresh, empty folder (mode 0700) for the metrics of the workers of the server on ``port`` (``hub serve``), in
    the run's folder (``hub.run_dir``). prometheus-client creates its files there with the process's umask (0644,
    say): the folder's mode is what keeps other users from reading or planting them."""
    path = run_dir(data_dir) / f"metrics-{port}"
    try:
        shutil.rmtree(path, ignore_errors=True)  # a previous run's counters must not count in this one
        path.mkdir(mode=0o700)
    except OSError as exc:
        raise SetupError(f"cannot create a folder for the workers' metrics at {path}: {exc.strerror}") from None
    return path


class PoolGauges:
    """Multiprocess mode: the pool gauges as ``livesum`` gauges, each worker setting its own pools' values."""

    def __init__(self, registry: CollectorRegistry, databases: Callable[[], Any]):
        self.databases = databases
        gauge = lambda name, doc: Gauge(name, doc, ["pool"], registry=registry,  # noqa: E731
                                        multiprocess_mode="livesum")
        self.size = gauge("hub_db_pool_size", "Open connections of the pool (all workers).")
        self.in_use = gauge("hub_db_pool_in_use", "Connections of the pool running a statement (all workers).")
        self.waiting = gauge("hub_db_pool_waiting", "Statements waiting for a connection of the pool (all workers).")
        self.max_size = gauge("hub_db_pool_max_size", "Configured maximum size of the pool (all workers).")

    def refresh(self) -> None:
        db = self.databases()
        for pool_gauge in (getattr(db, "pool_gauges", None) or {}).values():
            pool = pool_gauge.pool
            try:
                total, idle, limit = pool.get_size(), pool_gauge.idle, pool.get_max_size()
            except Exception:  # noqa: BLE001 - a closed pool has nothing to report
                total = idle = limit = 0
            name = pool_gauge.name
            self.size.labels(name).set(total)
            self.in_use.labels(name).set(max(0, total - idle))
            self.waiting.labels(name).set(pool_gauge.waiting)
            self.max_size.labels(name).set(limit)


class HubMetrics:
    """The app's metrics on its own registry (several apps in one process never collide), or in multiprocess
    mode (``multiprocess_dir``) in the files every worker of ``hub serve`` shares."""

    def __init__(self, max_operations: int = 200, databases: Callable[[], Any] | None = None):
        self.shared_dir = multiprocess_dir()
        # Multiprocess mode: counters and histograms go to the shared files in batches (hub.telemetry.metric_buffer).
        self.buffer = metric_buffer.install(values) if self.shared_dir is not None else None
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.operation_label = OperationLabels(max_operations)
        self.requests = Counter("hub_requests", "HTTP requests by operation and outcome.",
                                ["operation", "outcome"], registry=registry)
        self.latency = Histogram("hub_request_duration_seconds", "HTTP request latency by operation and outcome.",
                                 ["operation", "outcome"], buckets=LATENCY_BUCKETS, registry=registry)
        self.errors = Counter("hub_errors", "Errors by extensions.code.", ["code"], registry=registry)
        self.statement_seconds = Histogram("hub_db_statement_duration_seconds", "SQL statement latency.",
                                           ["statement"], buckets=STATEMENT_BUCKETS, registry=registry)
        self.statement_errors = Counter("hub_db_statement_errors", "SQL statements that failed.", ["statement"],
                                        registry=registry)
        self.batch_size = Histogram("hub_dataloader_batch_size", "Keys per DataLoader batch.", ["loader"],
                                    buckets=BATCH_BUCKETS, registry=registry)
        self.ingested_rows = Counter(INGESTED_ROWS, "Rows accepted by bulk ingest.", ["dataset"], registry=registry)
        self.rejected_rows = Counter(REJECTED_ROWS, "Rows rejected by bulk ingest (kept with their reason).",
                                     ["dataset"], registry=registry)
        self.feed_lag_seconds = Gauge(FEED_LAG_SECONDS, "Age of the oldest change not yet handed out by the "
                                      "change feed.", ["feed"], registry=registry, multiprocess_mode="mostrecent")
        self.websockets_open = Gauge("hub_websockets_open", "Authenticated GraphQL websockets open.",
                                     registry=registry, multiprocess_mode="livesum")
        self.websockets_refused = Counter("hub_websockets_refused", "GraphQL websockets closed before any "
                                          "operation, by reason.", ["reason"], registry=registry)
        self.gc_pause_seconds = Histogram("hub_gc_pause_seconds", "Pauses of the cyclic garbage collector.",
                                          ["generation"], buckets=GC_BUCKETS, registry=registry)
        Gauge("hub_build_info", "The hub's version.", ["version"], registry=registry,
              multiprocess_mode="max").labels(__version__).set(1)
        self.pools: PoolGauges | None = None
        if databases is not None:
            if self.shared_dir is None:
                registry.register(PoolCollector(databases))
            else:
                self.pools = PoolGauges(registry, databases)
        # Multiprocess mode: GC pauses are queued and observed outside the collector's callback. The callback
        # can run while this thread holds prometheus-client's (non-reentrant) multiprocess lock.
        self._gc_pending: collections.deque[tuple[int, float]] = collections.deque(maxlen=1000)
        self._statements: dict[str, Any] = {}
        self._batches: dict[str, Any] = {}
        self._requests: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._gc_children = [self.gc_pause_seconds.labels(str(g)) for g in range(3)]
        self._gc_started = 0.0

    # -- hot paths (children cached: .labels() takes a lock and builds a tuple) ----------------------

    def statement(self, name: str, seconds: float, failed: bool) -> None:
        child = self._statements.get(name)
        if child is None:
            child = self._statements[name] = self.statement_seconds.labels(name)
        child.observe(seconds)
        if failed:
            self.statement_errors.labels(name).inc()

    def loader_batch(self, loader: str, keys: int) -> None:
        child = self._batches.get(loader)
        if child is None:
            child = self._batches[loader] = self.batch_size.labels(loader)
        child.observe(keys)

    def request(self, operation: str, outcome: str, seconds: float) -> None:
        children = self._requests.get((operation, outcome))
        if children is None:
            label = self.operation_label(operation)
            children = self.requests.labels(label, outcome), self.latency.labels(label, outcome)
            if len(self._requests) < 4 * self.operation_label.limit:
                self._requests[(operation, outcome)] = children
        children[0].inc()
        children[1].observe(seconds)
        if self._gc_pending:
            self._observe_gc_pauses()

    def gc_callback(self, phase: str, info: dict[str, Any]) -> None:
        """For ``gc.callbacks`` (installed by the app's lifespan): observe each collection's pause."""
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started:
            generation, pause = min(int(info.get("generation", 0)), 2), time.perf_counter() - self._gc_started
            self._gc_started = 0.0
            if self.shared_dir is None:
                self._gc_children[generation].observe(pause)
            else:
                self._gc_pending.append((generation, pause))

    def _observe_gc_pauses(self) -> None:
        pending = self._gc_pending
        while pending:
            try:
                generation, pause = pending.popleft()
            except IndexError:
                return
            self._gc_children[generation].observe(pause)

    def error(self, code: str) -> None:
        self.errors.labels(code).inc()

    # -- for /ingest and /sync ------------------------------------------------------------------------

    def record_ingest(self, dataset: str, accepted: int, rejected: int) -> None:
        """Count one ingest batch's accepted and rejected rows."""
        if accepted:
            self.ingested_rows.labels(dataset).inc(accepted)
        if rejected:
            self.rejected_rows.labels(dataset).inc(rejected)

    def set_feed_lag(self, feed: str, seconds: float) -> None:
        """The change feed ``feed`` (a dataset, or ``all``) is ``seconds`` behind."""
        self.feed_lag_seconds.labels(feed).set(max(0.0, seconds))

    # -- GraphQL websockets (hub.api.ws_limits, hub.api.ws_handler) ----------------------------------------

    def websocket_opened(self) -> None:
        self.websockets_open.inc()

    def websocket_closed(self) -> None:
        self.websockets_open.dec()

    def websocket_refused(self, reason: str) -> None:
        self.websockets_refused.labels(reason).inc()

    def exposition(self) -> bytes:
        if self.shared_dir is None:
            return generate_latest(self.registry)
        self._observe_gc_pauses()
        self.buffer.flush()  # type: ignore[union-attr]  # this worker's latest counts (the others': FLUSH_SECONDS)
        if self.pools is not None:
            self.pools.refresh()
        merged = CollectorRegistry()
        merged.register(_CappedOperations(multiprocess.MultiProcessCollector(None, path=str(self.shared_dir)),
                                          self.operation_label.limit))
        return generate_latest(merged)

    # -- multiprocess mode: a worker's start and end ----------------------------------------------------

    def start_worker(self) -> "asyncio.Task[None] | None":
        """Clear the live gauges of workers that died without saying so; start refreshing the pool gauges."""
        if self.shared_dir is None:
            return None
        for path in self.shared_dir.glob("gauge_live*_*.db"):
            pid = int(path.stem.rsplit("_", 1)[1])
            if pid != os.getpid() and not _alive(pid):
                multiprocess.mark_process_dead(pid, str(self.shared_dir))
        return asyncio.ensure_future(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        """Every FLUSH_SECONDS the buffered counts go to this worker's files; every POOL_REFRESH_SECONDS the pool
        gauges are set."""
        refreshed = 0.0
        while True:
            now = time.monotonic()
            if self.pools is not None and now - refreshed >= POOL_REFRESH_SECONDS:
                refreshed = now
                self.pools.refresh()
            self._observe_gc_pauses()
            self.buffer.flush()  # type: ignore[union-attr]
            await asyncio.sleep(metric_buffer.FLUSH_SECONDS)

    def end_worker(self) -> None:
        """This worker's live gauges leave the sums; its counters and histograms keep counting."""
        if self.shared_dir is not None:
            self._observe_gc_pauses()
            self.buffer.flush()  # type: ignore[union-attr]
            multiprocess.mark_process_dead(os.getpid(), str(self.shared_dir))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def metrics_of(app: Any) -> HubMetrics:
    """The ``HubMetrics`` of a hub app (``request.app``), for code outside ``hub.telemetry.metrics``."""
    return app.state.metrics


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics``: the Prometheus text exposition of this process (of every worker in multiprocess mode)."""
    return Response(metrics_of(request.app).exposition(), media_type=CONTENT_TYPE_LATEST)
