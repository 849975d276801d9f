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

Operation names come from clients: at most ``HUB_METRICS_MAX_OPERATIONS`` distinct ones become labels,
later ones count as ``other``, so a client cannot blow up the number of series.

Several worker processes (``hub serve --workers N``): each keeps its own registry, so a scrape sees one
worker. Deployments run one worker per container and scale with replicas (deploy/), each scraped on its
own; the multiprocess mode of prometheus-client is not used (pool gauges cannot be shared across
processes).
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import Response

from hub import __version__

GC_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STATEMENT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 15.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000)

# Names of the sync/ingest metrics (issue 4 increments them through HubMetrics).
INGESTED_ROWS = "hub_ingested_rows"
REJECTED_ROWS = "hub_ingest_rejected_rows"
FEED_LAG_SECONDS = "hub_sync_feed_lag_seconds"

_UNSAFE = re.compile(r"[^A-Za-z0-9_ ./{}-]")


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
                total, idle, limit = pool.get_size(), pool.get_idle_size(), pool.get_max_size()
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


class HubMetrics:
    """The app's metrics on its own registry (several apps in one process never collide)."""

    def __init__(self, max_operations: int = 200, databases: Callable[[], Any] | None = None):
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
                                      "change feed.", ["feed"], registry=registry)
        self.gc_pause_seconds = Histogram("hub_gc_pause_seconds", "Pauses of the cyclic garbage collector.",
                                          ["generation"], buckets=GC_BUCKETS, registry=registry)
        Gauge("hub_build_info", "The hub's version.", ["version"], registry=registry).labels(__version__).set(1)
        if databases is not None:
            registry.register(PoolCollector(databases))
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

    def gc_callback(self, phase: str, info: dict[str, Any]) -> None:
        """For ``gc.callbacks`` (installed by the app's lifespan): observe each collection's pause."""
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started:
            self._gc_children[min(int(info.get("generation", 0)), 2)].observe(time.perf_counter() - self._gc_started)
            self._gc_started = 0.0

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

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def metrics_of(app: Any) -> HubMetrics:
    """The ``HubMetrics`` of a hub app (``request.app``), for code outside ``hub.metrics``."""
    return app.state.metrics


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics``: the Prometheus text exposition of this process."""
    return Response(metrics_of(request.app).exposition(), media_type=CONTENT_TYPE_LATEST)
