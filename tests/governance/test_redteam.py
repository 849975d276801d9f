"""An attacker's review of the GraphQL surface (issue: redteam): a consumer of another department tries to learn data
it may not see, see it unmasked, or read it without a faithful audit entry. Each test is one probe; the ones that
found a hole are marked so in their docstrings, the others keep a rule in place.

Runs on the scratch database (``scratch``): grants written here are revoked when the test ends."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from tests.support.helpers import approved_grant, sql

LAST_ENTRY = ("select operation_type, datasets, grants, masked_fields, denied, outcome, error_codes "
              "from hub.audit_log order by id desc limit 1")


@pytest.fixture(scope="module")
def paths(scratch) -> Iterator[dict[str, TestClient]]:
    """The app on the scratch database with the compiled path and without it (the general path alone)."""
    settings, _ = scratch
    with TestClient(create_app(replace(settings, compiled_queries=True))) as planned, \
            TestClient(create_app(replace(settings, compiled_queries=False))) as general:
        yield {"compiled": planned, "general": general}


def _post(client: TestClient, token: str, query: str, **kwargs: Any):
    return client.post("/graphql", json={"query": query, **kwargs}, headers={"Authorization": f"Bearer {token}"})


def _revoke(url: str, *grants: int) -> None:
    sql(url, "update hub.grants set revoked_at = now() where id = any($1)", list(grants))


@pytest.mark.parametrize("path", ["compiled", "general"])
def test_every_grant_a_read_relies_on_is_named_in_its_audit_entry(scratch, paths, path) -> None:
    """HOLE (audit under-report): a department holding two grants on one dataset reads under both — one lets it read
    the dataset, the other unmasks ``name`` — but the entry named only one of them (whichever the database listed
    first), so the log could not show which grant a clear name was read under."""
    settings, tokens = scratch
    url = settings.database_url
    plain = approved_grant(url, "commerce", "labor.job_seekers", [])
    names = approved_grant(url, "commerce", "labor.job_seekers", ["name"])
    try:
        compiled = paths["compiled"].app.router.routes[0].endpoint.compiled
        answered = compiled.answered
        body = _post(paths[path], tokens["commerce"], "{ jobSeekers(first: 2) { nodes { name phone } } }").json()
        entry = dict(sql(url, LAST_ENTRY)[0])
    finally:
        _revoke(url, plain, names)
    nodes = body["data"]["jobSeekers"]["nodes"]
    assert nodes and all("*" not in n["name"] and "*" in n["phone"] for n in nodes), body  # name in clear, phone not
    assert compiled.answered == answered + (path == "compiled")
    assert sorted(entry["grants"]) == sorted([plain, names]), entry
    assert list(entry["masked_fields"]) == ["labor.job_seekers.idNumber", "labor.job_seekers.phone"]
