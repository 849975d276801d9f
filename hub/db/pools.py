"""Database access: one asyncpg pool per department (shared when the URLs are equal) and the SQL registry.

Every statement the hub runs is a file ``sql/queries/<dept>/<name>.sql`` (one statement per file,
with a short header comment that is stripped before execution, so traces name the statement itself).
Departments are reached only through their own pool: ``db.labor.fetch("labor/postings_by_occupation", ...)``;
``db.<schema>`` for every department of the registry (``hub.departments``), so a new department needs no change here.
Each statement gets a span and metrics here (``hub.telemetry.tracing``); ``DATABASE_REPLICA_URLS`` adds read views on
replicas (``Databases.reader``, ``hub.db.replicas``).
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, ClassVar

import asyncpg

from hub import SQL_DIR
from hub import departments as department_registry
from hub.db.pool_use import PoolGauge
from hub.errors import ServiceUnavailable, from_db_error, raise_mapped
from hub.settings import Settings

_HEADER = re.compile(r"\A(?:\s*--[^\n]*\n)+")


async def keep_session(conn: asyncpg.Connection) -> None:
    """The pools' ``reset``: send nothing when a connection goes back to the pool.

    asyncpg's default reset sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every
    release — one more round trip per statement. Before calling this, asyncpg itself rolls back an open
    transaction and drops listener callbacks. The hub keeps no other session state on pooled connections:
    settings are ``set local``/``set_config(..., true)``, cursors live inside transactions, LISTEN runs
    on its own connection (hub.sync.notify), and the one session advisory lock (the statistics refresh)
    is released in a ``finally`` that terminates the connection when the unlock fails.
    """


def strip_header(text: str) -> str:
    """Remove leading ``--`` comment lines and surrounding whitespace."""
    return _HEADER.sub("", text).strip().rstrip(";").strip()


_PARAMETER = re.compile(r"\$(\d+)")
_KEY_ARRAY = re.compile(r"\$1::\w+\[\]")


@functools.lru_cache(maxsize=8192)  # by statement text: decided once per statement (generated ones are bounded too)
def is_key_lookup(sql: str) -> bool:
    """A SELECT whose only parameter is ``$1``, an array (the keys of a batch lookup): its best plan does not depend
    on parameter values (no optional filters, ranges or searches), so one generic plan serves every run.

    PostgreSQL's default (``plan_cache_mode = auto``) plans such a prepared statement afresh on every run: the
    generic plan cannot know the array's length, so it always looks dearer than a plan made for the actual
    array. A statement with other parameters (``$2 is null or district_code = $2``, ``name ilike $3``) must
    keep custom plans: a generic plan cannot use, say, a trigram index for a search (measured on the bench
    data: a seekers name search 0.33 ms custom, 70 ms generic).
    """
    return (sql.lstrip()[:6].lower() == "select" and set(_PARAMETER.findall(sql)) == {"1"}
            and _KEY_ARRAY.search(sql) is not None)


_OPTIONAL_FILTER = re.compile(r"\(\$(\d+)::\w+ is null or [^()]*\)")
_LIMIT_2 = re.compile(r"\blimit \$2\b")


@functools.lru_cache(maxsize=8192)  # by statement text, as is_key_lookup
def optional_filters(sql: str) -> tuple[int, ...] | None:
    """A keyset page (``$1`` after id, ``limit $2``) whose every other parameter is an optional filter written
    ``($n::type is null or ...)``: the positions of those parameters. None for any other statement.

    Such a page is planned afresh on every run (its filters need custom plans: a district's or a name search's
    index), although a run whose filters are all null is always the same plan: the primary key's index, read in
    order up to the limit. ``Department`` runs those on the generic-plan pool, like key lookups; on the bench data
    that saves ~0.16 ms of PostgreSQL planning per page (docs/performance.md). ``tests/db/test_generic_plans.py``
    checks that the generic plan of every such page (fused ones included) reads by index.
    """
    if sql.lstrip()[:6].lower() != "select" or _LIMIT_2.search(sql) is None:
        return None
    optional = tuple(sorted({int(n) for n in _OPTIONAL_FILTER.findall(sql)}))
    if set(_PARAMETER.findall(_OPTIONAL_FILTER.sub("", sql))) - {"1", "2"}:
        return None
    return optional


def generic_plan(sql: str, args: tuple[Any, ...]) -> bool:
    """Does one generic plan serve this run of the statement? A key lookup (``is_key_lookup``), or a page run with
    all its optional filters null (``optional_filters``)."""
    if is_key_lookup(sql):
        return True
    optional = optional_filters(sql)
    return optional is not None and all(args[n - 1] is None for n in optional)


class GeneratedStatements(OrderedDict):
    """The statements the compiled path generates (``hub.api.fused``), by name: the ``MAX`` most recently
    registered. Every selection of an ad hoc document may generate its own (the columns it reads), so the
    registry is bounded like the plan cache; a plan registers its statement again before each run, so one pushed
    out comes back."""

    MAX = 4096

    def __setitem__(self, name: str, sql: str) -> None:
        super().__setitem__(name, sql)
        self.move_to_end(name)
        while len(self) > self.MAX:
            self.popitem(last=False)


class SqlRegistry:
    """All named SQL statements under ``sql/queries``, loaded once, and the statements the compiled path
    generates from join specs (``generated``, by name: ``hub.api.fused``)."""

    generated: ClassVar[GeneratedStatements] = GeneratedStatements()

    def __init__(self, root: Path = SQL_DIR / "queries"):
        self.root = root
        self._sql: dict[str, str] = {}
        for path in sorted(root.rglob("*.sql")):
            name = path.relative_to(root).with_suffix("").as_posix()
            self._sql[name] = strip_header(path.read_text(encoding="utf-8"))

    def __getitem__(self, name: str) -> str:
        try:
            return self._sql[name]
        except KeyError:
            if name in self.generated:
                return self.generated[name]
            raise KeyError(f"no SQL file sql/queries/{name}.sql") from None

    def __contains__(self, name: str) -> bool:
        return name in self._sql

    @staticmethod
    def label(name: str) -> str:
        """A statement's name in metrics, spans and ``Stats``: the variants of a generated statement that read other
        columns (``name#digest``, ``hub.api.fused``) share their label, so labels stay as few as the statements."""
        return name.partition("#")[0]

    def names(self) -> list[str]:
        return sorted(self._sql)


@dataclass
class Stats:
    """Counters of executed statements (tests pin the number of statements of a query)."""

    statements: int = 0
    by_name: dict[str, int] = field(default_factory=dict)
    by_pool: dict[str, int] = field(default_factory=dict)  # "primary", "replica-1", a department's own pool

    def count(self, name: str, pool: str = "primary") -> None:
        self.statements += 1
        self.by_name[name] = self.by_name.get(name, 0) + 1
        self.by_pool[pool] = self.by_pool.get(pool, 0) + 1


class Department:
    """One department's access point: its pool (or one connection, in a transaction) plus the named
    statements.

    Every statement the hub runs passes here, so this is where each gets its span and its metrics
    (``hub.telemetry.tracing.Telemetry.statement_span``). ``fallback``: on a replica, the primary's Department, used
    when the replica cannot be reached (``on_unavailable`` is told, see ``hub.db.replicas``).
    ``acquire_timeout`` (seconds): the longest wait for a pool connection, reconnecting included; then
    the statement fails with SERVICE_UNAVAILABLE instead of hanging while the database is down or saturated.
    """

    def __init__(self, name: str, pool: asyncpg.Pool | asyncpg.Connection, registry: SqlRegistry, stats: Stats,
                 *, telemetry: Any = None, pool_name: str = "primary", gauge: PoolGauge | None = None,
                 fallback: "Department | None" = None, on_unavailable: Any = None,
                 acquire_timeout: float | None = None, lookups: "Department | None" = None):
        self.name = name
        self.pool = pool
        self.sql = registry
        self.stats = stats
        self.telemetry = telemetry
        self.pool_name = pool_name
        self.gauge = gauge
        self.fallback = fallback
        self.on_unavailable = on_unavailable
        self.acquire_timeout = acquire_timeout
        # The same database through the generic-plan pool, for key lookups (HUB_GENERIC_LOOKUPS; None: this pool)
        self.lookups = lookups

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator["Department"]:
        """The same API on one connection inside a transaction (committed when the block exits)."""
        try:
            async with self.pool.acquire(timeout=self.acquire_timeout) as conn:
                async with conn.transaction():
                    yield Department(self.name, conn, self.sql, self.stats, telemetry=self.telemetry,
                                     pool_name=self.pool_name)
        except Exception as exc:
            raise_mapped(exc)

    async def _run(self, method: str, query: str, args: tuple[Any, ...], counted: bool = True) -> Any:
        sql = self.sql[query]
        if self.lookups is not None and generic_plan(sql, args):
            return await self.lookups._run(method, query, args, counted)
        label = SqlRegistry.label(query)  # also when the registry is a plain dict (tests)
        if counted:
            self.stats.count(label, self.pool_name)
        telemetry = self.telemetry
        span = telemetry.statement_span(label, sql, self.name, self.pool_name) if telemetry is not None else None
        started = time.perf_counter()
        try:
            gauge = self.gauge
            if gauge is None:  # one connection (a transaction), or a Department built without metrics
                result = await getattr(self.pool, method)(sql, *args)
            else:
                result = await gauge.run(method, sql, args, self.acquire_timeout)
        except Exception as exc:  # mapped to the domain tree in one place
            if telemetry is not None:
                telemetry.statement_done(label, span, time.perf_counter() - started, None, exc)
            mapped = from_db_error(exc)
            if mapped is None:
                raise
            if self.fallback is not None and isinstance(mapped, ServiceUnavailable):
                if self.on_unavailable is not None:
                    self.on_unavailable(self.pool_name)
                return await self.fallback._run(method, query, args, counted)
            raise mapped from exc
        if telemetry is not None:
            telemetry.statement_done(label, span, time.perf_counter() - started,
                                     len(result) if method == "fetch" else None)
        return result

    async def fetch(self, query: str, *args: Any, counted: bool = True) -> list[asyncpg.Record]:
        return await self._run("fetch", query, args, counted)

    async def fetchrow(self, query: str, *args: Any, counted: bool = True) -> asyncpg.Record | None:
        rows = await self.fetch(query, *args, counted=counted)
        return rows[0] if rows else None

    async def fetchval(self, query: str, *args: Any, counted: bool = True) -> Any:
        """The first column of the first row. ``counted=False`` leaves ``stats`` alone (the audit outbox's reads)."""
        row = await self.fetchrow(query, *args, counted=counted)
        return None if row is None else row[0]

    async def execute(self, query: str, *args: Any, counted: bool = True) -> str:
        """Run a statement for its effect. ``counted=False`` leaves ``stats`` alone (the audit insert)."""
        return await self._run("execute", query, args, counted)


class Databases:
    """The department pools. Created and closed by the app's lifespan (or a CLI command)."""

    def __init__(self, settings: Settings, default_url: str, telemetry: Any = None):
        self.settings = settings
        self.default_url = default_url
        self.registry = SqlRegistry()
        self.stats = Stats()
        self.telemetry = telemetry  # hub.telemetry.tracing.Telemetry: spans and metrics of every statement
        self.pools: dict[str, asyncpg.Pool] = {}
        self.departments: dict[str, Department] = {}
        self.pool_gauges: dict[str, PoolGauge] = {}  # by pool name, for the pool metrics
        self.lookup_gauges: list[PoolGauge] = []  # the key-lookup pools (HUB_GENERIC_LOOKUPS), also in pool_gauges
        self.primary: Databases = self  # a read view (hub.db.replicas) points at the primary it reads beside
        self.replicas: Any = None  # hub.db.replicas.ReplicaSet when DATABASE_REPLICA_URLS is set
        self.audit_writer: Any = None  # hub.governance.audit_writer.AuditWriter, set by the app's lifespan (group commit)

    def pool_name(self, dept: str) -> str:
        """``primary`` for the default database, else the departments sharing ``dept``'s own database."""
        url = self.url_of(dept)
        if url == self.default_url:
            return "primary"
        return "+".join(d for d in department_registry.NAMES if self.url_of(d) == url)

    def reader(self, consumer_id: Any = None) -> "Databases":
        """Where a read-only GraphQL operation of ``consumer_id`` reads: a replica view, or the primary
        (no replicas, none reachable, or the consumer wrote within ``read_your_writes_seconds``)."""
        return self.primary if self.replicas is None else self.replicas.reader(consumer_id)

    def note_write(self, consumer_id: Any) -> None:
        """``consumer_id`` just wrote (a mutation, an ingest): keep its reads on the primary for a while."""
        if self.primary.replicas is not None:
            self.primary.replicas.note_write(consumer_id)

    def url_of(self, dept: str) -> str:
        return self.settings.url_for(dept, self.default_url)

    def distinct_urls(self) -> list[str]:
        return sorted({self.url_of(d) for d in department_registry.NAMES})

    def one_per_database(self) -> list[str]:
        """A department of each distinct database (the first of those sharing it), in ``distinct_urls`` order: where
        work that is per database, not per department, goes (the audit outbox)."""
        return [next(d for d in department_registry.NAMES if self.url_of(d) == url) for url in self.distinct_urls()]

    async def open(self) -> "Databases":
        by_url: dict[str, asyncpg.Pool] = {}
        lookup_gauges: dict[str, PoolGauge] = {}
        server_settings = {
            "application_name": "talent-data-hub",
            "statement_timeout": str(self.settings.statement_timeout_ms),
            "jit": "off",
        }
        try:
            for dept in department_registry.NAMES:
                url = self.url_of(dept)
                name = self.pool_name(dept)
                if url not in by_url:
                    by_url[url] = await asyncpg.create_pool(
                        url,
                        min_size=self.settings.pool_min_size,
                        max_size=self.settings.pool_max_size,
                        server_settings=server_settings,
                        reset=keep_session,
                        timeout=self.settings.db_connect_timeout_ms / 1000,  # connect timeout
                    )
                    self.pool_gauges[name] = PoolGauge(name, by_url[url])
                    if self.settings.generic_lookups:
                        lookup_gauges[url] = await self._lookup_pool(url, name, server_settings)
                self.pools[dept] = by_url[url]
                self.departments[dept] = Department(dept, by_url[url], self.registry, self.stats,
                                                    telemetry=self.telemetry, pool_name=name,
                                                    gauge=self.pool_gauges[name],
                                                    acquire_timeout=self.settings.pool_acquire_timeout_ms / 1000,
                                                    lookups=self._lookups(dept, name, lookup_gauges.get(url)))
            if self.settings.replica_urls:
                # deferred import: cycle pools<->replicas (a replica's ReadView is a Databases)
                from hub.db.replicas import ReplicaSet

                self.replicas = await ReplicaSet.open(self, server_settings)
        except BaseException:
            await self.close()
            raise
        return self

    async def _lookup_pool(self, url: str, name: str, server_settings: dict[str, str]) -> PoolGauge:
        """The generic-plan pool of one database (``generic_plan``, HUB_GENERIC_LOOKUPS): connections
        that plan each prepared statement once (``plan_cache_mode = force_generic_plan``), opened on demand; its
        gauge (and metrics label) is ``<pool>-lookups``."""
        pool = await asyncpg.create_pool(
            url, min_size=0, max_size=self.settings.pool_max_size, reset=keep_session,
            server_settings={**server_settings, "plan_cache_mode": "force_generic_plan"},
            timeout=self.settings.db_connect_timeout_ms / 1000)
        gauge = self.pool_gauges[f"{name}-lookups"] = PoolGauge(f"{name}-lookups", pool)
        self.lookup_gauges.append(gauge)
        return gauge

    def _lookups(self, dept: str, name: str, gauge: PoolGauge | None) -> Department | None:
        if gauge is None:
            return None
        return Department(dept, gauge.pool, self.registry, self.stats, telemetry=self.telemetry, pool_name=name,
                          gauge=gauge, acquire_timeout=self.settings.pool_acquire_timeout_ms / 1000)

    async def close(self) -> None:
        if self.replicas is not None:
            await self.replicas.close()
            self.replicas = None
        for gauge in self.pool_gauges.values():  # every pool (one per database, and its lookup pool) has its gauge
            await gauge.close()  # its kept connections go back first (hub.db.pool_use)
        self.lookup_gauges.clear()
        self.pools.clear()
        self.departments.clear()
        self.pool_gauges.clear()

    def __getattr__(self, schema: str) -> Department:
        """``db.<schema>``: the access point of the department whose data is in that schema, for every department
        of the registry — ``db.commerce``, ``db.labor``, ``db.science``, ``db.education``, and ``db.hub`` for the
        hub's own tables (bigdata's). Python calls this only for names that are not attributes; any other name is an
        AttributeError, as usual."""
        department = department_registry.BY_SCHEMA.get(schema)
        if department is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {schema!r} (nor a department "
                                 f"with that schema: {', '.join(sorted(department_registry.BY_SCHEMA))})")
        return self.departments[department.name]

    async def ping(self) -> None:
        for pool in {id(p): p for p in self.pools.values()}.values():
            await pool.fetchval("select 1")
