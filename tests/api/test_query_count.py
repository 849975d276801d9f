"""No N+1: a nested query costs one SQL statement per level, whatever the page sizes (fewer on the compiled
path, where a key lookup and its same-department key joins are one statement: hub.api.fused)."""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from tests.support.clients import GraphQLClient
from tests.support.database import DEFAULT_CONSUMER

NESTED = """query($n: Int) { occupations(first: $n) { nodes { code
    postings(first: $n) { nodes { id enterprise { name industry { code name } } } } } } }"""


def count_statements(gql, query: str, variables: dict) -> tuple[dict, dict]:
    """Statements run on the departments' data (the hub's own policy look-ups, cached for a few seconds
    in production and not at all in tests, are left out)."""
    before = dict(gql.stats.by_name)
    data = gql(query, variables)
    after = gql.stats.by_name
    return data, {k: after[k] - before.get(k, 0) for k in after
                  if after[k] != before.get(k, 0) and not k.startswith("hub/")}


@pytest.mark.parametrize("page_size", [5, 50])
def test_four_levels_cost_three_statements(gql, page_size: int) -> None:
    data, ran = count_statements(gql, NESTED, {"n": page_size})
    assert "errors" not in data
    occupations = data["data"]["occupations"]["nodes"]
    assert len(occupations) == page_size
    postings = [p for o in occupations for p in o["postings"]["nodes"]]
    assert len(postings) > page_size  # really nested: many parents at levels 2-4
    assert all(p["enterprise"]["industry"]["code"] for p in postings)
    assert ran == {
        "labor/occupations_page": 1,
        "labor/postings_by_occupation": 1,
        "fused/commerce/enterprises_by_uscc+industry_code:commerce/industries_by_code": 1,  # enterprise + industry
    }


@pytest.fixture(scope="module")
def general_gql(settings, tokens) -> Iterator[GraphQLClient]:
    """The default test consumer on an app without the compiled path (``gql`` answers by plans)."""
    with TestClient(create_app(replace(settings, compiled_queries=False))) as client:
        yield GraphQLClient(client, tokens[DEFAULT_CONSUMER])


@pytest.mark.parametrize("path", ["compiled", "general"])
def test_deep_cross_department_query_is_one_statement_per_level(request, path: str) -> None:
    gql = request.getfixturevalue("gql" if path == "compiled" else "general_gql")
    query = """{ occupations(first: 20) { nodes { postings(first: 10) { nodes {
        enterprise { industry { majors { school { code } } } researchProjects(first: 3) { nodes { code } } } } } } } }"""
    data, ran = count_statements(gql, query, {})
    assert "errors" not in data
    assert all(n == 1 for n in ran.values()), ran
