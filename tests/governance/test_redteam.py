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


SUBSCRIPTION = 'subscription Watch { datasetChanged(dataset: "labor.job_seekers") { dataset cursor } }'


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_subscription_over_http_is_refused_with_a_code_and_audited(scratch, paths, method, caplog) -> None:
    """HOLE (error handling): a subscription sent over HTTP (POST or GET) ran through the query executor and failed
    with INTERNAL_SERVER_ERROR, logged as an unexpected error with a traceback for every such request. It is refused
    as a mutation over GET is (OPERATION_NOT_ALLOWED: subscriptions run over the websocket), before anything
    resolves, and its audit entry says so."""
    settings, tokens = scratch
    headers = {"Authorization": f"Bearer {tokens['labor']}"}
    client = paths["compiled"]
    if method == "POST":
        response = client.post("/graphql", json={"query": SUBSCRIPTION}, headers=headers)
    else:
        response = client.get("/graphql", params={"query": SUBSCRIPTION}, headers=headers)
    entry = dict(sql(settings.database_url, LAST_ENTRY)[0])
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert "subscriptions" in error["message"] and "websocket" in error["message"], error
    assert (entry["operation_type"], entry["outcome"], list(entry["error_codes"])) == \
        ("subscription", "ERROR", ["OPERATION_NOT_ALLOWED"])
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_mutation_over_get_answers_the_code_its_audit_entry_records(scratch, paths) -> None:
    """The body of the refusal carries OPERATION_NOT_ALLOWED (docs/api.md), as the audit entry does; it said
    BAD_USER_INPUT."""
    settings, tokens = scratch
    response = paths["general"].get("/graphql", params={"query": "mutation { revokeGrant(id: 1) { id } }"},
                                    headers={"Authorization": f"Bearer {tokens['labor']}"})
    entry = dict(sql(settings.database_url, LAST_ENTRY)[0])
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED" == entry["error_codes"][0]
