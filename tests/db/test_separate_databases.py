"""Departments are separable: labor and commerce in two different databases give the same answer."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from starlette.testclient import TestClient

from hub.app import create_app
from hub.settings import Settings
from tests.support.database import prepare, with_database
from tests.support.helpers import body_of
from tests.support.database import keep_only

QUERY = """{ occupations(first: 8) { nodes { code name postings(first: 6) { nodes { id headcount
    enterprise { uscc name industry { code name parent { code } } } } } } } }"""


def test_labor_and_commerce_in_two_databases(server_url: str, settings: Settings, gql) -> None:
    expected = gql(QUERY)
    assert "errors" not in expected

    labor_url = with_database(server_url, "hub_test_labor")
    commerce_url = with_database(server_url, "hub_test_commerce")
    tokens = {}
    for name, url in (("hub_test_labor", labor_url), ("hub_test_commerce", commerce_url)):
        s = replace(settings, database_url=url, department_urls={})
        tokens[name] = asyncio.run(prepare(s, server_url, name))
    # Each database keeps only its own department's data: a query that reached the wrong pool
    # would find nothing there.
    asyncio.run(keep_only(labor_url, "labor"))
    asyncio.run(keep_only(commerce_url, "commerce"))

    split = replace(settings, database_url=labor_url,
                    department_urls={"labor": labor_url, "commerce": commerce_url})
    with TestClient(create_app(split)) as client:
        # The hub's own schema (consumers, grants) follows DATABASE_URL: the labor database here.
        client.headers["Authorization"] = f"Bearer {tokens['hub_test_labor']['labor']}"
        db = client.app.state.db
        assert db.pools["labor"] is not db.pools["commerce"]
        response = client.post("/graphql", json={"query": QUERY})
    assert response.status_code == 200
    assert body_of(response) == expected
