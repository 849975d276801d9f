"""Scale-out reads: ``DATABASE_REPLICA_URLS`` (comma-separated) are streaming replicas of ``DATABASE_URL``.

Routing rule:

* **Replicas** serve read-only GraphQL operations (``query``), one replica per operation, round-robin.
* **The primary** serves everything else: mutations (grant requests and reviews), ``/ingest``, ``/sync``
  (the change feed must never miss a committed change), the audit log, authentication and the sharing
  policy (catalog and grants are read fresh there), the CLI and migrations.
* **Read-after-write**: after a consumer's write (a mutation, or an ingest that calls
  ``Databases.note_write``) its queries read the primary for ``HUB_READ_YOUR_WRITES_SECONDS`` (default
  5 s, longer than any replica lag we accept), so a consumer always sees its own writes. The memory is
  per hub process: the compose proxy routes a consumer (its bearer token) to the same hub replica.
* **Per-department databases**: replicas apply to the departments on ``DATABASE_URL`` only; a
  department moved with ``HUB_<DEPT>_DATABASE_URL`` always reads its own database.
* **Failures**: a replica that cannot be reached is skipped for ``DOWN_SECONDS`` and the statement is
  retried on the primary, so a lost replica costs latency, not errors.

Replica pools connect lazily (``min_size`` 0) with ``default_transaction_read_only`` on: a replica URL
that points at a primary by mistake still cannot be written through.
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any, Iterator

import asyncpg
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from hub.db.pools import Databases, Department, PoolGauge, keep_session

log = logging.getLogger("hub.replicas")

DOWN_SECONDS = 10.0
_MAX_WRITERS = 100_000


class ReadView(Databases):
    """The primary's ``Databases`` with the default database's departments on one replica pool.

    Shares the primary's SQL registry, statement stats and telemetry; owns no pool (closing it is a no-op).
    """

    def __init__(self, primary: Databases, name: str, gauge: PoolGauge, on_unavailable: Any):
        # Deliberately not Databases.__init__: nothing is opened or loaded again.
        self.settings = primary.settings
        self.default_url = primary.default_url
        self.registry = primary.registry
        self.stats = primary.stats
        self.telemetry = primary.telemetry
        self.primary = primary
        self.replicas = None
        self.name = name
        self.pool_gauges = {}
        self.pools = dict(primary.pools)
        self.departments = dict(primary.departments)
        for dept, department in primary.departments.items():
            if primary.url_of(dept) == primary.default_url:
                self.pools[dept] = gauge.pool
                self.departments[dept] = Department(
                    dept, gauge.pool, primary.registry, primary.stats, telemetry=primary.telemetry,
                    pool_name=name, gauge=gauge, fallback=department, on_unavailable=on_unavailable,
                    acquire_timeout=primary.settings.pool_acquire_timeout_ms / 1000)

    async def open(self) -> "Databases":
        raise TypeError("a read view is opened by its ReplicaSet")

    async def close(self) -> None:
        return None


class ReplicaSet:
    """The replica pools of one ``Databases`` and the routing state (round-robin, recent writers, health)."""

    def __init__(self, primary: Databases, gauges: list[PoolGauge], window: float):
        self.primary = primary
        self.gauges = gauges
        self.window = window
        self.views = [ReadView(primary, g.name, g, self.mark_down) for g in gauges]
        self._next: Iterator[int] = itertools.cycle(range(len(self.views)))
        self._writes: dict[Any, float] = {}
        self._down: dict[str, float] = {}

    @classmethod
    async def open(cls, primary: Databases, server_settings: dict[str, str]) -> "ReplicaSet":
        settings = primary.settings
        gauges: list[PoolGauge] = []
        try:
            for i, url in enumerate(settings.replica_urls, start=1):
                pool = await asyncpg.create_pool(
                    url, min_size=0, max_size=settings.pool_max_size, timeout=settings.db_connect_timeout_ms / 1000,
                    server_settings={**server_settings, "default_transaction_read_only": "on"},
                    reset=keep_session)
                gauges.append(PoolGauge(f"replica-{i}", pool))
        except BaseException:
            for gauge in gauges:
                await gauge.pool.close()
            raise
        for gauge in gauges:
            primary.pool_gauges[gauge.name] = gauge
        return cls(primary, gauges, settings.read_your_writes_seconds)

    async def close(self) -> None:
        for gauge in self.gauges:
            await gauge.close()
            self.primary.pool_gauges.pop(gauge.name, None)

    def note_write(self, consumer_id: Any) -> None:
        if consumer_id is None:
            return
        if len(self._writes) >= _MAX_WRITERS:
            self._expire(time.monotonic())
        self._writes[consumer_id] = time.monotonic()

    def wrote_recently(self, consumer_id: Any) -> bool:
        at = self._writes.get(consumer_id)
        return at is not None and time.monotonic() - at < self.window

    def mark_down(self, name: str) -> None:
        if name not in self._down:
            log.warning("replica %s is unreachable: reading from the primary for %.0f s", name, DOWN_SECONDS)
        self._down[name] = time.monotonic() + DOWN_SECONDS

    def reader(self, consumer_id: Any = None) -> Databases:
        """A replica view for a read-only operation of ``consumer_id``, or the primary."""
        if consumer_id is not None and self.wrote_recently(consumer_id):
            return self.primary
        now = time.monotonic()
        for _ in range(len(self.views)):
            view = self.views[next(self._next)]
            until = self._down.get(view.name)
            if until is None or until <= now:
                if until is not None:
                    del self._down[view.name]
                return view
        return self.primary

    def _expire(self, now: float) -> None:
        self._writes = {k: at for k, at in self._writes.items() if now - at < self.window}


def route_query(ctx: Any) -> None:
    """Send a query's reads where the routing rule says (``ctx.db``: a replica view unless the consumer wrote
    recently or this request already wrote); the caller restores ``ctx.db.primary`` when the operation ends."""
    db = getattr(ctx, "db", None)
    if db is not None and not getattr(ctx, "wrote", False):
        ctx.db = db.primary.reader(getattr(getattr(ctx, "consumer", None), "id", None))


class ReadRouting(SchemaExtension):
    """Routes a GraphQL operation: queries to ``Databases.reader`` (a replica unless the consumer wrote
    recently), mutations to the primary, noting the write. Installed only when replicas are configured.

    ``ctx.db`` is switched once the operation's type is known (on execute) and restored to the primary
    when the operation ends, before the audit entry is written (the audit writes to the primary anyway).
    """

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        try:
            is_query = ec.operation_type is OperationType.QUERY
        except RuntimeError:
            is_query = False
        if is_query:
            route_query(ec.context)
        yield

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context.context
        try:
            yield
        finally:
            db = getattr(ctx, "db", None)
            if db is not None:
                ctx.db = db.primary
                try:
                    is_mutation = self.execution_context.operation_type is OperationType.MUTATION
                except RuntimeError:
                    is_mutation = False
                if is_mutation:
                    ctx.wrote = True  # later operations of this request (a batch) stay on the primary
                    db.primary.note_write(getattr(getattr(ctx, "consumer", None), "id", None))
