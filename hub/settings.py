"""Typed settings, read once from the environment (``Settings.from_env()``)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from hub import ROOT
from hub.departments import NAMES as DEPARTMENTS


class SettingsError(ValueError):
    """An environment variable holds a value the hub cannot use."""


# HUB_WS_INIT_TIMEOUT_SECONDS: how long a socket may stay open without connection_init (anonymous sockets are held
# that long; a longer time is no use to a client, and no timedelta holds an infinite one).
WS_INIT_TIMEOUT_MAX_SECONDS = 300.0


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < 0 or value != value:
        raise SettingsError(f"{name} must be >= 0, got {raw!r}")
    return value


def _positive(env: Mapping[str, str], name: str, default: float, maximum: float = math.inf) -> float:
    value = _float(env, name, default)
    if value <= 0 or value > maximum:
        bound = "" if maximum == math.inf else f" and at most {maximum:g}"
        raise SettingsError(f"{name} must be > 0{bound}, got {env.get(name)!r}")
    return value


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


# Switches the hub no longer has, and what took their place. Off (unset, empty or false) they are accepted; any
# other value stops the hub: an operator who turned one on expects something the hub no longer does.
_REMOVED_SWITCHES = {
    "HUB_AUDIT_RELAY": "the audit relay was removed; the workers of `hub serve --workers N` take turns at the audit "
                       "chain instead (the audit turn, HUB_AUDIT_TURN, on by default) — unset HUB_AUDIT_RELAY",
}


def _refuse_removed_switches(env: Mapping[str, str]) -> None:
    for name, instead in _REMOVED_SWITCHES.items():
        raw = env.get(name)
        if raw and raw.lower() not in _FALSE:
            raise SettingsError(f"{name}={raw}: {instead}")


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).lower()
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    data_dir: Path = ROOT / ".hub"
    database_url: str | None = None
    # HUB_<DEPT>_DATABASE_URL: a department moved to its own PostgreSQL.
    department_urls: Mapping[str, str] = field(default_factory=dict)
    database_name: str = "hub"
    pool_min_size: int = 1
    pool_max_size: int = 10
    statement_timeout_ms: int = 15_000
    # Key lookups (statements whose only parameter is the array of keys, hub.db.pools.is_key_lookup) and pages run
    # with every optional filter null (hub.db.pools.optional_filters) run on a second pool whose connections plan
    # each prepared statement once (plan_cache_mode force_generic_plan); PostgreSQL would otherwise plan them afresh
    # on every run. Other runs keep PostgreSQL's choice.
    generic_lookups: bool = True
    # `hub serve --workers N` (N > 1): the workers' audit batches take turns on the host (hub.governance.audit_turn)
    # instead of waiting for the chain's lock inside the database; entries gather meanwhile into larger batches.
    audit_turn: bool = True
    # The audit outbox (hub.governance.audit_outbox): every this many seconds each process appends the audit entries of
    # writes made while the audit log could not take them (kept longer than a minute); 0: never.
    audit_outbox_seconds: float = 30.0
    # Reliability (hub.db.pools, hub.http.overload): fail fast while a database is down, queue a bounded number of requests.
    db_connect_timeout_ms: int = 5_000      # opening a connection (incl. reconnecting after an outage)
    pool_acquire_timeout_ms: int = 5_000    # waiting for a pool connection (then SERVICE_UNAVAILABLE)
    max_in_flight: int = 32                 # requests served at once per process (0: no limit)
    max_queued: int = 128                   # requests waiting for a slot; beyond: 503 + Retry-After at once
    queue_timeout_ms: int = 5_000           # longest wait in that queue (then 503 + Retry-After)
    max_page_size: int = 500
    default_page_size: int = 20
    graphiql: bool = True
    introspection: bool = True
    log_level: str = "info"
    # Governance and limits.
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5_000
    max_cost: int = 50_000
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 100
    # HUB_RATE_LIMIT_TABLE: set by `hub serve --workers N` for its workers (hub.http.rate_table), not by operators.
    rate_limit_table: Path | None = None
    max_body_bytes: int = 1_000_000
    # GraphQL websockets (hub.api.ws_limits): authenticated sockets one consumer holds open on the host (0: no cap),
    # and how long a socket may stay open without sending connection_init (then closed, 4408).
    ws_max_sockets_per_consumer: int = 32
    ws_init_timeout_seconds: float = 10.0  # at most WS_INIT_TIMEOUT_MAX_SECONDS
    # HUB_WS_SOCKET_TABLE: set by `hub serve --workers N` for its workers (hub.http.socket_table), not by operators.
    ws_socket_table: Path | None = None
    trusted_documents_only: bool = False
    compiled_queries: bool = True
    plan_cache_size: int = 1000  # query documents whose plans (or "general path") are kept, least recently used out
    gc_tuning: bool = True
    policy_cache_seconds: float = 2.0
    # Observability and scale-out (hub.telemetry.tracing, hub.telemetry.metrics, hub.telemetry.logs, hub.db.replicas). Tracing itself is
    # configured by the standard OTEL_* variables (see hub.telemetry.tracing.provider_from_env).
    replica_urls: tuple[str, ...] = ()  # DATABASE_REPLICA_URLS: read-only queries go there
    read_your_writes_seconds: float = 5.0  # a consumer's reads stay on the primary this long after a write
    trace_resolvers: bool = False  # one span per resolved (non-default) field: costly, for debugging
    access_log: bool = True  # one JSON access line per request (uvicorn's access log is then off)
    log_format: str = "json"  # json | text
    metrics: bool = True  # serve GET /metrics (Prometheus text format)
    metrics_max_operations: int = 200  # distinct operation names used as metric labels; then "other"
    # HUB_METRICS_TOKEN_FILE: GET /metrics answers only Authorization: Bearer <the file's token>
    # (hub.http.metrics_access)
    metrics_token_file: Path | None = None
    # Sync for the big-data bureau (hub.sync): change-log retention, feed pages, ingest.
    sync_retention_hours: float = 168.0  # changes older than this are pruned; older cursors: CURSOR_EXPIRED
    sync_prune_interval_seconds: float = 300.0  # how often the retention task runs
    counters_compact_seconds: float = 10.0  # how often the posting counters are folded (resolvers.labor.counters)
    sync_page_default: int = 1000  # changes per feed page when no limit/first is given
    sync_page_max: int = 10_000  # largest feed page
    ingest_max_body_bytes: int = 2 * 1024**3  # POST /ingest bodies (streamed; the generic limit does not apply)
    ingest_report_rejects: int = 100  # rejected rows (and warnings) listed in an ingest report
    ingest_timeout_ms: int = 600_000  # statement timeout inside an ingest transaction
    # the longest a snapshot's answer streams (its pool connection and REPEATABLE READ transaction are held meanwhile;
    # a client reading a little at a time kept them as long as it liked): then the stream is cut, audited CANCELLED
    sync_snapshot_max_seconds: float = 900.0
    # Published statistics (docs/design.md, "Published figures"): thresholds applied when the figures are queried.
    stats_shortage_ratio: float = 1.5         # job-to-applicant ratio a quarter must reach
    stats_shortage_quarters: int = 3          # quarters of the year that must reach it
    stats_shortage_min_demand: int = 10       # annual demand (headcount) at least
    stats_match_oversupplied: float = 1.5     # match index above: OVERSUPPLIED
    stats_match_undersupplied: float = 0.67   # match index below: UNDERSUPPLIED
    stats_employment_threshold: float = 0.80  # employment rate below: a year counts towards a warning
    stats_duplicate_schools: int = 3          # enrollment guidance: schools of a district teaching one major
    stats_growth: float = 0.10                # enrollment guidance: forecast demand growth that counts as growing
    # Signed checkpoints of the audit chain's head (hub.governance.checkpoints). No key file: checkpoints are off.
    audit_signing_key: Path | None = None        # Ed25519 private key file (PEM or raw), never in the database
    audit_checkpoint_seconds: float = 60.0       # how often the head is signed (by one process at a time)
    audit_checkpoint_export: Path | None = None  # JSON-lines file each signed head is appended to

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def embedded(self) -> bool:
        """True when no DATABASE_URL is set: the hub starts its own PostgreSQL under data_dir."""
        return self.database_url is None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        hub_env = env.get("HUB_ENV", "development")
        if hub_env not in ("development", "production", "test"):
            raise SettingsError(f"HUB_ENV must be development, production or test, got {hub_env!r}")
        _refuse_removed_switches(env)
        production = hub_env == "production"
        urls = {}
        for dept in DEPARTMENTS:
            url = env.get(f"HUB_{dept.upper()}_DATABASE_URL")
            if url:
                urls[dept] = url
        max_page = _int(env, "HUB_MAX_PAGE_SIZE", 500, minimum=1)
        return cls(
            env=hub_env,
            host=env.get("HUB_HOST", "127.0.0.1"),
            port=_int(env, "HUB_PORT", 8000, minimum=1),
            workers=_int(env, "HUB_WORKERS", os.cpu_count() or 1, minimum=1),
            data_dir=Path(env.get("HUB_DATA_DIR") or ROOT / ".hub"),
            database_url=env.get("DATABASE_URL") or None,
            department_urls=urls,
            database_name=env.get("HUB_DATABASE_NAME", "hub"),
            pool_min_size=_int(env, "HUB_POOL_MIN_SIZE", 1),
            pool_max_size=_int(env, "HUB_POOL_MAX_SIZE", 10, minimum=1),
            statement_timeout_ms=_int(env, "HUB_STATEMENT_TIMEOUT_MS", 15_000),
            generic_lookups=_bool(env, "HUB_GENERIC_LOOKUPS", True),
            audit_turn=_bool(env, "HUB_AUDIT_TURN", True),
            audit_outbox_seconds=max(_float(env, "HUB_AUDIT_OUTBOX_SECONDS", 30.0), 0.0),
            db_connect_timeout_ms=_int(env, "HUB_DB_CONNECT_TIMEOUT_MS", 5_000, minimum=1),
            pool_acquire_timeout_ms=_int(env, "HUB_POOL_ACQUIRE_TIMEOUT_MS", 5_000, minimum=1),
            max_in_flight=_int(env, "HUB_MAX_IN_FLIGHT", 32),
            max_queued=_int(env, "HUB_MAX_QUEUED", 128),
            queue_timeout_ms=_int(env, "HUB_QUEUE_TIMEOUT_MS", 5_000, minimum=1),
            max_page_size=max_page,
            default_page_size=min(_int(env, "HUB_DEFAULT_PAGE_SIZE", 20, minimum=1), max_page),
            graphiql=_bool(env, "HUB_GRAPHIQL", not production),
            introspection=_bool(env, "HUB_INTROSPECTION", not production),
            log_level=env.get("HUB_LOG_LEVEL", "info"),
            max_depth=_int(env, "HUB_MAX_DEPTH", 12, minimum=1),
            max_aliases=_int(env, "HUB_MAX_ALIASES", 30, minimum=1),
            max_tokens=_int(env, "HUB_MAX_TOKENS", 5_000, minimum=10),
            max_cost=_int(env, "HUB_MAX_COST", 50_000, minimum=1),
            rate_limit_per_second=_float(env, "HUB_RATE_LIMIT_PER_SECOND", 50.0),
            rate_limit_burst=_int(env, "HUB_RATE_LIMIT_BURST", 100, minimum=1),
            rate_limit_table=Path(env["HUB_RATE_LIMIT_TABLE"]) if env.get("HUB_RATE_LIMIT_TABLE") else None,
            max_body_bytes=_int(env, "HUB_MAX_BODY_BYTES", 1_000_000, minimum=1024),
            ws_max_sockets_per_consumer=_int(env, "HUB_WS_MAX_SOCKETS_PER_CONSUMER", 32),
            ws_init_timeout_seconds=_positive(env, "HUB_WS_INIT_TIMEOUT_SECONDS", 10.0,
                                              maximum=WS_INIT_TIMEOUT_MAX_SECONDS),
            ws_socket_table=_path(env, "HUB_WS_SOCKET_TABLE"),
            trusted_documents_only=_bool(env, "HUB_TRUSTED_DOCUMENTS_ONLY", False),
            compiled_queries=_bool(env, "HUB_COMPILED_QUERIES", True),
            plan_cache_size=_int(env, "HUB_PLAN_CACHE_SIZE", 1000, minimum=1),
            gc_tuning=_bool(env, "HUB_GC_TUNING", hub_env != "test"),
            policy_cache_seconds=_float(env, "HUB_POLICY_CACHE_SECONDS", 2.0),
            replica_urls=tuple(u.strip() for u in (env.get("DATABASE_REPLICA_URLS") or "").split(",") if u.strip()),
            read_your_writes_seconds=_float(env, "HUB_READ_YOUR_WRITES_SECONDS", 5.0),
            trace_resolvers=_bool(env, "HUB_TRACE_RESOLVERS", False),
            access_log=_bool(env, "HUB_ACCESS_LOG", True),
            log_format=_choice(env, "HUB_LOG_FORMAT", "json", ("json", "text")),
            metrics=_bool(env, "HUB_METRICS", True),
            metrics_max_operations=_int(env, "HUB_METRICS_MAX_OPERATIONS", 200, minimum=1),
            metrics_token_file=_path(env, "HUB_METRICS_TOKEN_FILE"),
            **_stats_settings(env),
            **_sync_settings(env),
            **_audit_settings(env),
        )

    def url_for(self, dept: str, default_url: str) -> str:
        """The database URL a department's pool connects to."""
        return self.department_urls.get(dept, default_url)


def _stats_settings(env: Mapping[str, str]) -> dict[str, float | int]:
    """The HUB_STATS_* thresholds of the published statistics, checked for consistency."""
    values: dict[str, float | int] = {
        "stats_shortage_ratio": _float(env, "HUB_STATS_SHORTAGE_RATIO", 1.5),
        "stats_shortage_quarters": _int(env, "HUB_STATS_SHORTAGE_QUARTERS", 3, minimum=1),
        "stats_shortage_min_demand": _int(env, "HUB_STATS_SHORTAGE_MIN_DEMAND", 10),
        "stats_match_oversupplied": _float(env, "HUB_STATS_MATCH_OVERSUPPLIED", 1.5),
        "stats_match_undersupplied": _float(env, "HUB_STATS_MATCH_UNDERSUPPLIED", 0.67),
        "stats_employment_threshold": _float(env, "HUB_STATS_EMPLOYMENT_THRESHOLD", 0.80),
        "stats_duplicate_schools": _int(env, "HUB_STATS_DUPLICATE_SCHOOLS", 3, minimum=2),
        "stats_growth": _float(env, "HUB_STATS_GROWTH", 0.10),
    }
    if values["stats_shortage_quarters"] > 4:
        raise SettingsError(f"HUB_STATS_SHORTAGE_QUARTERS must be 1 to 4, got {values['stats_shortage_quarters']}")
    if values["stats_match_undersupplied"] > values["stats_match_oversupplied"]:
        raise SettingsError("HUB_STATS_MATCH_UNDERSUPPLIED must not exceed HUB_STATS_MATCH_OVERSUPPLIED")
    if values["stats_employment_threshold"] > 1:
        raise SettingsError("HUB_STATS_EMPLOYMENT_THRESHOLD is a rate: 0 to 1")
    return values


def _sync_settings(env: Mapping[str, str]) -> dict[str, float | int]:
    """The HUB_SYNC_* and HUB_INGEST_* settings (hub.sync)."""
    page_max = _int(env, "HUB_SYNC_PAGE_MAX", 10_000, minimum=1)
    return {
        "sync_retention_hours": _float(env, "HUB_SYNC_RETENTION_HOURS", 168.0),
        "sync_prune_interval_seconds": max(_float(env, "HUB_SYNC_PRUNE_INTERVAL_SECONDS", 300.0), 1.0),
        "counters_compact_seconds": max(_float(env, "HUB_COUNTERS_COMPACT_SECONDS", 10.0), 0.1),
        "sync_page_default": min(_int(env, "HUB_SYNC_PAGE_DEFAULT", 1000, minimum=1), page_max),
        "sync_page_max": page_max,
        "ingest_max_body_bytes": _int(env, "HUB_INGEST_MAX_BODY_BYTES", 2 * 1024**3, minimum=1024),
        "ingest_report_rejects": _int(env, "HUB_INGEST_REPORT_REJECTS", 100),
        "ingest_timeout_ms": _int(env, "HUB_INGEST_TIMEOUT_MS", 600_000),
        "sync_snapshot_max_seconds": max(_float(env, "HUB_SYNC_SNAPSHOT_MAX_SECONDS", 900.0), 1.0),
    }


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw) if raw else None


def _audit_settings(env: Mapping[str, str]) -> dict[str, object]:
    """The HUB_AUDIT_* settings of the audit checkpoints (hub.governance.checkpoints)."""
    return {
        "audit_signing_key": _path(env, "HUB_AUDIT_SIGNING_KEY"),
        "audit_checkpoint_seconds": max(_float(env, "HUB_AUDIT_CHECKPOINT_SECONDS", 60.0), 1.0),
        "audit_checkpoint_export": _path(env, "HUB_AUDIT_CHECKPOINT_EXPORT"),
    }
