"""Typed settings, read once from the environment (``Settings.from_env()``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from hub import ROOT

DEPARTMENTS: tuple[str, ...] = ("commerce", "labor", "science", "education", "bigdata")
# bigdata's tables live in the hub's own PostgreSQL schema, "hub".


class SettingsError(ValueError):
    """An environment variable holds a value the hub cannot use."""


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


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


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
    max_body_bytes: int = 1_000_000
    trusted_documents_only: bool = False
    policy_cache_seconds: float = 2.0

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
            workers=_int(env, "HUB_WORKERS", 1, minimum=1),
            data_dir=Path(env.get("HUB_DATA_DIR") or ROOT / ".hub"),
            database_url=env.get("DATABASE_URL") or None,
            department_urls=urls,
            database_name=env.get("HUB_DATABASE_NAME", "hub"),
            pool_min_size=_int(env, "HUB_POOL_MIN_SIZE", 1),
            pool_max_size=_int(env, "HUB_POOL_MAX_SIZE", 10, minimum=1),
            statement_timeout_ms=_int(env, "HUB_STATEMENT_TIMEOUT_MS", 15_000),
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
            max_body_bytes=_int(env, "HUB_MAX_BODY_BYTES", 1_000_000, minimum=1024),
            trusted_documents_only=_bool(env, "HUB_TRUSTED_DOCUMENTS_ONLY", False),
            policy_cache_seconds=_float(env, "HUB_POLICY_CACHE_SECONDS", 2.0),
        )

    def url_for(self, dept: str, default_url: str) -> str:
        """The database URL a department's pool connects to."""
        return self.department_urls.get(dept, default_url)
