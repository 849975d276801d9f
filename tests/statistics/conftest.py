"""Fixtures of the statistics tests: the hand-made dataset's database and a client of its app."""

from __future__ import annotations
import asyncio
from dataclasses import replace
from typing import Iterator
import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.settings import Settings
from tests.support import stats_dataset as ds
from tests.support.database import recreate_database, with_database
from tests.support.stats_api import Api


@pytest.fixture(scope="module")
def stats_settings(server_url: str) -> Iterator[tuple[Settings, dict[str, str]]]:
    url = with_database(server_url, "hub_test_stats")
    settings = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=url, policy_cache_seconds=0.0)
    asyncio.run(recreate_database(server_url, "hub_test_stats"))
    tokens = asyncio.run(ds.prepare(settings, dict.fromkeys(("hub", "labor", "commerce", "education"), url)))
    yield settings, tokens


@pytest.fixture(scope="module")
def api(stats_settings) -> Iterator[Api]:
    settings, tokens = stats_settings
    with TestClient(create_app(settings)) as client:
        yield Api(client, tokens)
