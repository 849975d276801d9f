"""Shared by tests: moved from statistics/test_statistics.py."""

from __future__ import annotations
import asyncio
from dataclasses import replace
from typing import Iterator
import pytest
from hub.settings import Settings
from tests.support import stats_dataset as ds
from tests.support.database import recreate_database, with_database


@pytest.fixture(scope="module")
def stats_settings(server_url: str) -> Iterator[tuple[Settings, dict[str, str]]]:
    url = with_database(server_url, "hub_test_stats")
    settings = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=url, policy_cache_seconds=0.0)
    asyncio.run(recreate_database(server_url, "hub_test_stats"))
    tokens = asyncio.run(ds.prepare(settings, dict.fromkeys(("hub", "labor", "commerce", "education"), url)))
    yield settings, tokens
