"""A join by a key its reader sees masked (issue 15's review): the general path masks the parent's PERSONAL fields
before its joins resolve, so a join by such a key looks up the masked value and finds nothing; the compiled path's
fused statement (hub.api.fused) joins the rows by their real key in SQL, so it must not be used for that reader, or
the joined row would reveal the masked value (an occupation's code is the seeker's occupation code).

No join key of the demo catalog is PERSONAL: the scratch database's catalog makes one so (``hub.dataset_fields`` is
data a migration may change), and both paths must answer and audit alike."""

from __future__ import annotations

from dataclasses import replace

from starlette.testclient import TestClient

from hub.app import create_app
from tests.support.helpers import approved_grant, sql

MARK = ("update hub.dataset_fields set sensitivity = $1, mask = $2 "
        "where dataset = 'labor.job_seekers' and field = 'occupationCode'")
SEEKERS = "{ jobSeekers(first: 3) { nodes { occupationCode occupation { code name } } } }"
AUDITED = "select datasets, grants, rows, masked_fields, denied, outcome from hub.audit_log order by id desc limit 1"


def test_a_join_by_a_masked_key_is_not_fused(scratch) -> None:
    settings, tokens = scratch
    url = settings.database_url
    grant = approved_grant(url, "commerce", "labor.job_seekers", ["phone"])  # occupationCode masked for commerce
    sql(url, MARK, "PERSONAL", "PERSON_NAME")
    try:
        with TestClient(create_app(replace(settings, compiled_queries=True))) as planned, \
                TestClient(create_app(replace(settings, compiled_queries=False))) as general:
            compiled = planned.app.router.routes[0].endpoint.compiled
            headers = {"Authorization": f"Bearer {tokens['commerce']}"}
            before = compiled.answered
            a = planned.post("/graphql", json={"query": SEEKERS}, headers=headers)
            entry_a = dict(sql(url, AUDITED)[0])
            b = general.post("/graphql", json={"query": SEEKERS}, headers=headers)
            entry_b = dict(sql(url, AUDITED)[0])
    finally:
        sql(url, MARK, "PUBLIC", None)
        sql(url, "update hub.grants set revoked_at = now() where id = $1", grant)
    nodes = b.json()["data"]["jobSeekers"]["nodes"]
    assert nodes and all(n["occupationCode"].endswith("*") and n["occupation"] is None for n in nodes), nodes
    assert compiled.answered == before + 1
    assert a.json()["data"] == b.json()["data"] and entry_a == entry_b
