"""An attacker's review of what the hub's answers say about data a department may not read (issue: restedge): a
grant id's existence, an ingested key's existence, a record's source id. Each test is one probe; the ones that found
a hole say so in their docstrings.

Runs on the scratch database (``scratch``): grants written here are revoked, rows written are deleted when the test
ends."""

from __future__ import annotations

from typing import Any, Iterator

import orjson
import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from tests.support.helpers import approved_grant, sql, sql_value

SEEKERS = "labor.job_seekers"


@pytest.fixture(scope="module")
def hub(scratch) -> Iterator[TestClient]:
    with TestClient(create_app(scratch[0])) as client:
        yield client


def _graphql(client: TestClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    return client.post("/graphql", json={"query": query, "variables": variables},
                       headers={"Authorization": f"Bearer {token}"}).json()


def _revoke(url: str, *grants: int) -> None:
    sql(url, "update hub.grants set revoked_at = now() where id = any($1)", list(grants))


# --- reviewing or revoking by id --------------------------------------------------------------------------------

REVIEW = "mutation($id: Int!) { reviewAccessRequest(id: $id, decision: REFUSE, reason: \"probe\") { id } }"
REVOKE = "mutation($id: Int!) { revokeGrant(id: $id) { id } }"


def test_a_third_department_cannot_tell_another_pairs_grant_or_request_from_a_missing_id(scratch, hub) -> None:
    """HOLE (existence): science, neither side of commerce's grant on labor's job seekers, got FORBIDDEN ("not yours to
    review/revoke") for that grant's and request's ids and NOT_FOUND for an id that does not exist, so enumerating ids
    told which ones were other departments' requests and grants (and how many). Both are now one answer: NOT_FOUND
    with the same message shape and extensions. The sides still get FORBIDDEN naming the owner."""
    settings, tokens = scratch
    url = settings.database_url
    grant = approved_grant(url, "commerce", SEEKERS)
    request = sql_value(url, "select request_id from hub.grants where id = $1", grant)
    missing_grant = sql_value(url, "select max(id) + 1000 from hub.grants")
    missing_request = sql_value(url, "select max(id) + 1000 from hub.access_requests")
    try:
        answers = {
            (what, which): _graphql(hub, tokens["science"], document, id=ident)["errors"]
            for what, document, ids in (("review", REVIEW, (request, missing_request)),
                                        ("revoke", REVOKE, (grant, missing_grant)))
            for which, ident in zip(("existing", "missing"), ids)}
        sides = {who: _graphql(hub, tokens[who], REVOKE, id=grant)["errors"][0] for who in ("commerce",)}
        still = sql_value(url, "select revoked_at is null from hub.grants where id = $1", grant)
    finally:
        _revoke(url, grant)
    assert still, "the refused revocation revoked the grant"

    def shape(errors: list[dict[str, Any]], ident: int) -> tuple:
        (error,) = errors
        return error["message"].replace(str(ident), "<id>"), error["extensions"].get("code"), sorted(error["extensions"])

    for what, ids in (("review", (request, missing_request)), ("revoke", (grant, missing_grant))):
        existing, missing = shape(answers[what, "existing"], ids[0]), shape(answers[what, "missing"], ids[1])
        assert existing == missing, (what, existing, missing)
        assert existing[1] == "NOT_FOUND", existing
    assert sides["commerce"]["extensions"]["code"] == "FORBIDDEN" and "labor" in sides["commerce"]["message"]
