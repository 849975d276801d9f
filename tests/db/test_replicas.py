"""Scale-out reads against a real streaming standby (tests/support/replica_cluster.py): queries read a replica,
writes and a writer's next reads use the primary, an unreachable replica falls back to the primary."""

from __future__ import annotations

import asyncio
import datetime
import logging
from dataclasses import replace
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from hub.api.trusted import TrustedDocuments
from hub.app import create_app
from hub.db.pools import Databases
from hub.settings import Settings
from tests.support.database import prepare, with_database
from tests.support.helpers import body_of, sql_value
from tests.support.replica_cluster import ReplicaCluster

DB = "hub_test_replica"
QUERY = "{ occupations(first: 2) { nodes { code name } } }"
ASK = """mutation Ask { requestAccess(dataset: "labor.job_seekers", purpose: "replica routing test",
           until: "%s", fields: ["idNumber"]) { id status } }"""
MINE = "{ accessRequests(first: 50) { nodes { id } } }"
UNREACHABLE = "postgresql://postgres@/nothing?host=/nonexistent-hub-replica"


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[ReplicaCluster, Settings, dict[str, str]]]:
    with ReplicaCluster() as c:
        primary = with_database(c.url("primary"), DB)
        base = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=primary, policy_cache_seconds=0.0,
                       rate_limit_per_second=0.0)
        tokens = asyncio.run(prepare(base, c.url("primary"), DB))
        asyncio.run(c.wait_replayed())
        yield c, base, tokens


def _post(client: TestClient, token: str, query: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The response body, and the statements each pool ran for it."""
    stats = client.app.state.db.stats
    before = dict(stats.by_pool)
    response = client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body = body_of(response)
    assert "errors" not in body, body
    return body, {k: v - before.get(k, 0) for k, v in stats.by_pool.items() if v != before.get(k, 0)}


def test_queries_read_the_replica_and_writes_stay_on_the_primary(cluster) -> None:
    c, base, tokens = cluster
    settings = replace(base, replica_urls=(with_database(c.url("standby"), DB),), read_your_writes_seconds=60.0)
    audits = sql_value(base.database_url, "select count(*) from hub.audit_log")
    with TestClient(create_app(settings)) as client:
        db = client.app.state.db
        replica_pool = db.pool_gauges["replica-1"].pool
        # The replica pool really reads the standby, read-only; the primary is not in recovery.
        assert client.portal.call(replica_pool.fetchval, "select pg_is_in_recovery()") is True
        assert client.portal.call(db.pools["labor"].fetchval, "select pg_is_in_recovery()") is False

        body, used = _post(client, tokens["commerce"], QUERY)
        assert len(body["data"]["occupations"]["nodes"]) == 2
        # The query's statement ran on the replica; authentication and policy (before it) on the primary.
        assert used["replica-1"] == 1 and set(used) == {"replica-1", "primary"}

        # A mutation writes on the primary; the writer's next reads stay there and see the write at once.
        until = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
        asked, used = _post(client, tokens["commerce"], ASK % until)
        assert "replica-1" not in used
        mine, used = _post(client, tokens["commerce"], MINE)
        assert "replica-1" not in used
        assert asked["data"]["requestAccess"]["id"] in {n["id"] for n in mine["data"]["accessRequests"]["nodes"]}

        # Other consumers still read the replica, until they write (here: an ingest reporting its write).
        _, used = _post(client, tokens["education"], QUERY)
        assert used.get("replica-1") == 1
        education = sql_value(base.database_url, "select id from hub.consumers where department = 'education' "
                                                  "order by id limit 1")
        db.note_write(education)
        _, used = _post(client, tokens["education"], QUERY)
        assert "replica-1" not in used
    # Every operation was audited, on the primary.
    assert sql_value(base.database_url, "select count(*) from hub.audit_log") == audits + 5


def test_an_unreachable_replica_falls_back_to_the_primary(cluster, caplog) -> None:
    _, base, tokens = cluster
    settings = replace(base, replica_urls=(UNREACHABLE,))
    caplog.set_level(logging.WARNING, logger="hub.replicas")
    with TestClient(create_app(settings)) as client:
        body, used = _post(client, tokens["commerce"], QUERY)
        assert len(body["data"]["occupations"]["nodes"]) == 2
        assert used.get("primary", 0) >= 1
        assert client.app.state.db.reader() is client.app.state.db  # marked down: not tried again for now
        body, used = _post(client, tokens["commerce"], QUERY)
        assert "replica-1" not in used
    assert [r for r in caplog.records if "replica-1 is unreachable" in r.getMessage()]


def test_departments_on_their_own_database_keep_it(cluster) -> None:
    _, base, _ = cluster
    own = base.database_url + "&application_name=labor"  # the same database through another URL: another pool
    settings = replace(base, department_urls={"labor": own}, replica_urls=(UNREACHABLE, UNREACHABLE))

    async def go() -> None:
        db = await Databases(settings, settings.database_url).open()
        try:
            assert set(db.pool_gauges) == {"primary", "labor", "primary-lookups", "labor-lookups", "replica-1",
                                           "replica-2"}
            views = db.replicas.views
            assert [v.name for v in views] == ["replica-1", "replica-2"]
            for view in views:
                assert view.departments["labor"] is db.departments["labor"]  # its own database, never a replica
                assert view.departments["commerce"].pool is db.pool_gauges[view.name].pool
                assert view.departments["commerce"].fallback is db.departments["commerce"]
                assert view.primary is db
            assert [db.reader().name for _ in range(4)] == ["replica-1", "replica-2", "replica-1", "replica-2"]
            assert db.pool_gauges["replica-1"].pool.get_size() == 0  # replica pools connect lazily
        finally:
            await db.close()

    asyncio.run(go())


def test_replica_pools_refuse_writes(cluster) -> None:
    c, base, _ = cluster
    settings = replace(base, replica_urls=(base.database_url,))  # a primary named as a replica by mistake

    async def go() -> None:
        db = await Databases(settings, settings.database_url).open()
        try:
            pool = db.pool_gauges["replica-1"].pool
            assert await pool.fetchval("show default_transaction_read_only") == "on"
            with pytest.raises(Exception, match="read-only transaction"):
                await pool.execute("create table hub.replica_write_probe (i int)")
        finally:
            await db.close()

    asyncio.run(go())


def test_compiled_trusted_queries_read_the_replica(cluster) -> None:
    c, base, tokens = cluster
    settings = replace(base, replica_urls=(with_database(c.url("standby"), DB),), compiled_queries=True)
    doc = next(d for d in TrustedDocuments.load() if d.path.endswith("postings_nested.graphql"))
    audits = sql_value(base.database_url, "select count(*) from hub.audit_log")
    with TestClient(create_app(settings)) as client:
        compiled = client.app.router.routes[0].endpoint.compiled
        before = compiled.answered
        _, ran = _post(client, tokens["labor"], doc.text)
        assert compiled.answered == before + 1  # the plan answered, not the general path
    # The two data statements (postings + their occupations, enterprises + their industries: each one statement,
    # hub.api.fused) ran on the replica; the primary ran only the authentication and sharing-policy look-ups
    # (not cached here).
    assert ran.get("replica-1") == 2, ran
    # Its audit entry went to the primary.
    assert sql_value(base.database_url, "select count(*) from hub.audit_log") == audits + 1
