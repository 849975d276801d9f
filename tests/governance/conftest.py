"""Shared by tests: moved from governance/test_audit_checkpoints.py."""

from __future__ import annotations
import asyncio
from dataclasses import replace
from pathlib import Path
import pytest
from hub.governance.audit_keys import generate
from hub.db.runtime import migrate_all
from hub.settings import Settings
from tests.support.database import recreate_database, with_database


AUDITED_DB = "hub_test_audit_checkpoints"
AUDIT_SCRATCH_DB = "hub_test_audit_scratch"


@pytest.fixture()
def audited(server_url: str, tmp_path: Path) -> Settings:
    """A fresh migrated database without checkpoints, a signing key and an export file (not yet written)."""
    key = tmp_path / "keys" / "signing.pem"
    generate(key)
    settings = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=with_database(server_url, AUDITED_DB),
                       policy_cache_seconds=0.0, audit_signing_key=key,
                       audit_checkpoint_export=tmp_path / "exported.jsonl", audit_checkpoint_seconds=3600.0)

    async def prepare() -> None:
        await recreate_database(server_url, AUDITED_DB)
        await migrate_all(settings)

    asyncio.run(prepare())
    return settings


@pytest.fixture(scope="module")
def audit_scratch(server_url: str) -> tuple[Settings, dict[str, str]]:
    """A scratch database for the tests of the audit writers and their turn (migrated, the demo consumers, no data),
    rate limit off."""
    from tests.support.database import empty_database

    settings, tokens = empty_database(server_url, AUDIT_SCRATCH_DB)
    return replace(settings, rate_limit_per_second=0.0), tokens
