"""The audit log: one hash-chained entry per GraphQL operation, append-only, verifiable.

Runs on scratch databases of its own (migrated, with the demo consumers but no demo data), so the log
starts empty and tampering never touches the shared test database.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import replace
from typing import Any, Iterator

import asyncpg
import pytest
from opentelemetry.sdk.trace import TracerProvider
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient
from typer.testing import CliRunner

from hub.api.context import Context
from hub.app import create_app
from hub.governance.audit import ZERO_HASH, AuditEntry, record, verify
from hub.cli.main import app as cli_app
from hub.db.pools import Databases
from hub.db.runtime import migrate_all
from hub.errors import ServiceUnavailable
from hub.governance.access import Access
from hub.governance.catalog import Catalog
from hub.governance.consumers import create_demo_consumers
from hub.settings import Settings
from resolvers.analytics.report import routes as report_routes
from tests.support.database import recreate_database, with_database
from tests.support.helpers import approved_grant, audit_refused, sql, sql_value

API_DB = "hub_test_audit_api"
CHAIN_DB = "hub_test_audit_chain"


def _scratch(server_url: str, name: str) -> Settings:
    settings = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=with_database(server_url, name),
                       policy_cache_seconds=0.0)

    async def prepare() -> None:
        await recreate_database(server_url, name)
        await migrate_all(settings)

    asyncio.run(prepare())
    return settings


async def _consumers(settings: Settings) -> dict[str, str]:
    db = await Databases(settings, settings.database_url).open()
    try:
        return await create_demo_consumers(db.hub)
    finally:
        await db.close()


@pytest.fixture(scope="module")
def api(server_url: str) -> Iterator[tuple[Settings, dict[str, str], TestClient]]:
    """A scratch database with the demo consumers and one job seeker, and the app on it."""
    settings = _scratch(server_url, API_DB)
    tokens = asyncio.run(_consumers(settings))
    url = settings.database_url
    sql(url, "insert into labor.occupations (code, name, major_group) values ('6-18-01-01', '车工', 6)")
    sql(url, "insert into labor.job_seekers (name, id_number, phone, gender, birth_year, education, occupation_code, "
             "district_code, registered_on) values ('张三丰', '11010119900307123X', '13812345678', 'M', 1990, "
             "'HIGH_SCHOOL', '6-18-01-01', '110101', '2024-01-02')")
    with TestClient(create_app(settings)) as client:
        yield settings, tokens, client


def _post(client: TestClient, token: str | None, query: str, variables: dict | None = None,
          operation_name: str | None = None):
    body: dict[str, Any] = {"query": query, "variables": variables or {}}
    if operation_name:
        body["operationName"] = operation_name
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/graphql", json=body, headers=headers)


def _last_id(url: str) -> int:
    return sql_value(url, "select coalesce(max(id), 0) from hub.audit_log")


def _new_entries(url: str, after: int) -> list[asyncpg.Record]:
    return sql(url, "select * from hub.audit_log where id > $1 order by id", after)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _consumer_id(url: str, department: str) -> int:
    return sql_value(url, "select id from hub.consumers where department = $1 order by id limit 1", department)


# --- one entry per operation -----------------------------------------------------------------------

OPERATIONS = {
    # name: (who, query, variables, expected outcome, codes, operation name, operation type, http status)
    "ok": ("labor", "query Occ { occupations(first: 2) { nodes { code name } } }", None,
           "OK", [], "Occ", "query", 200),
    "validation": ("labor", "query Bad { occupations(first: 1) { nodes { noSuchField } } }", None,
                   "ERROR", ["GRAPHQL_VALIDATION_FAILED"], "Bad", "query", 200),
    "parse": ("labor", "query Broken { occupations(first: 1) {", None,
              "ERROR", ["GRAPHQL_PARSE_FAILED"], None, "unknown", 200),
    "variables": ("labor", "query V($n: Int) { occupations(first: $n) { nodes { code } } }", {"n": "many"},
                  "ERROR", ["BAD_USER_INPUT"], "V", "query", 200),
    "page_size": ("labor", "query Big { occupations(first: 100000) { nodes { code } } }", None,
                  "ERROR", ["BAD_USER_INPUT"], "Big", "query", 200),
    "not_shared": ("commerce", "query Certs { skillCertificates(first: 1) { nodes { certificateNo } } }", None,
                   "DENIED", ["FORBIDDEN"], "Certs", "query", 200),
    "mutation": ("commerce", 'mutation Ask { requestAccess(dataset: "labor.job_seekers", purpose: "audit test", '
                             'until: "2099-12-31", fields: ["idNumber"]) { id status } }', None,
                 "OK", [], "Ask", "mutation", 200),
    "mutation_error": ("commerce", 'mutation AskBad { requestAccess(dataset: "no.such", purpose: "audit test", '
                                   'until: "2099-12-31") { id } }', None,
                       "ERROR", ["BAD_USER_INPUT"], "AskBad", "mutation", 200),
}


@pytest.mark.parametrize("case", sorted(OPERATIONS))
def test_every_operation_adds_exactly_one_entry(api, case: str) -> None:
    settings, tokens, client = api
    who, query, variables, outcome, codes, name, op_type, status = OPERATIONS[case]
    url = settings.database_url
    before = _last_id(url)
    response = _post(client, tokens[who], query, variables)
    assert response.status_code == status, response.text
    body = response.json()
    assert [e["extensions"]["code"] for e in body.get("errors", [])] == codes, body
    entries = _new_entries(url, before)
    assert len(entries) == 1, entries
    e = entries[0]
    assert e["operation_name"] == name
    assert e["operation_type"] == op_type
    assert e["document_hash"] == _sha(query)
    assert e["outcome"] == outcome
    assert list(e["error_codes"]) == codes
    department = "bigdata" if who == "admin" else who
    assert (e["department"], e["consumer_id"]) == (department, _consumer_id(url, department))
    assert e["consumer_name"]
    if case == "not_shared":
        assert list(e["denied"]) == ["labor.skill_certificates"]
        assert list(e["datasets"]) == []


def test_mutation_over_get_is_refused_and_audited(api) -> None:
    settings, tokens, client = api
    url = settings.database_url
    before = _last_id(url)
    query = 'mutation ViaGet { revokeGrant(id: 1) { id } }'
    response = client.get("/graphql", params={"query": query}, headers={"Authorization": f"Bearer {tokens['labor']}"})
    assert response.status_code == 400
    [e] = _new_entries(url, before)
    assert (e["operation_name"], e["operation_type"], e["outcome"]) == ("ViaGet", "mutation", "ERROR")
    assert list(e["error_codes"]) == ["OPERATION_NOT_ALLOWED"]
    assert e["document_hash"] == _sha(query)


def test_the_entry_records_datasets_grants_rows_and_masked_fields(api) -> None:
    settings, tokens, client = api
    url = settings.database_url
    # commerce gets a grant on job seekers that unmasks none of the personal fields.
    grant_id = approved_grant(url, "commerce", "labor.job_seekers")
    query = "query Seekers { jobSeekers(first: 5) { nodes { id name idNumber phone } } occupations { nodes { code } } }"
    before = _last_id(url)
    body = _post(client, tokens["commerce"], query).json()
    assert "errors" not in body, body
    assert body["data"]["jobSeekers"]["nodes"][0]["idNumber"] == "110101************"
    [e] = _new_entries(url, before)
    assert e["outcome"] == "OK"
    assert list(e["datasets"]) == ["labor.job_seekers", "labor.occupations"]
    assert list(e["grants"]) == [grant_id]
    assert _json(e["rows"]) == {"labor.job_seekers": 1, "labor.occupations": 1}
    assert list(e["masked_fields"]) == ["labor.job_seekers.idNumber", "labor.job_seekers.name",
                                        "labor.job_seekers.phone", "labor.job_seekers.sourceId"]
    # The owner reads the same fields unmasked, without a grant.
    before = _last_id(url)
    body = _post(client, tokens["labor"], query).json()
    assert body["data"]["jobSeekers"]["nodes"][0]["idNumber"] == "11010119900307123X"
    [e] = _new_entries(url, before)
    assert list(e["masked_fields"]) == [] and list(e["grants"]) == []


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def test_one_entry_and_no_extra_resolver_statements_for_a_many_resolver_query(api) -> None:
    settings, tokens, client = api
    url = settings.database_url
    query = """query Many { a: occupations(first: 3) { nodes { code seekers { nodes { id } } } }
                            b: occupations(first: 1) { nodes { code } } jobSeekers { nodes { id } } }"""
    stats = client.app.state.db.stats
    before, counts = _last_id(url), dict(stats.by_name)
    body = _post(client, tokens["labor"], query).json()
    assert "errors" not in body, body
    assert len(_new_entries(url, before)) == 1
    ran = {k: v - counts.get(k, 0) for k, v in stats.by_name.items() if v != counts.get(k, 0)}
    assert not [k for k in stats.by_name if "audit" in k]  # the audit write is not a resolver statement
    assert {k: v for k, v in ran.items() if not k.startswith("hub/")} == {
        "labor/occupations_page": 2, "labor/seekers_by_occupation": 1, "labor/seekers_page": 1}


def test_an_operation_that_cannot_be_audited_returns_no_data(api) -> None:
    settings, tokens, client = api
    url = settings.database_url
    with audit_refused(url, "Unaudited"):
        before = _last_id(url)
        body = _post(client, tokens["labor"], "query Unaudited { occupations { nodes { code } } }").json()
        assert body["data"] is None
        assert body["errors"] == [{"message": "audit log unavailable", "extensions": {"code": "SERVICE_UNAVAILABLE"}}]
        assert _new_entries(url, before) == []
        # Other operations are unaffected.
        body = _post(client, tokens["labor"], "query Audited { occupations { nodes { code } } }").json()
        assert body["data"]["occupations"]["nodes"] == [{"code": "6-18-01-01"}]


# --- every route that returns non-public data is audited (issue 12) ----------------------------------------

# Every route of the app, classified. A new route fails test_every_route_is_public_or_audited until it is
# listed here: PUBLIC with the reason it needs no audit entry, or AUDITED with a token-bearing request that must
# write exactly one entry (and then it must write one).
PUBLIC = {
    ("/", "GET"): "landing page: links, and the years of the published (public) reports",
    ("/healthz", "GET"): "the process is up: no data",
    ("/readyz", "GET"): "database reachability and migration state: no department data",
    ("/static", "MOUNT"): "GraphiQL's JavaScript and CSS",
    ("/metrics", "GET"): "operational counters (operations, codes, pools, latencies): no department data",
}
OCCUPATION_NDJSON = b'{"code": "6-18-01-01", "name": "\xe8\xbd\xa6\xe5\xb7\xa5", "major_group": 6}\n'  # unchanged row
AUDITED = {
    # (route, method): (who, method, path, body, headers, expected operation name)
    ("/graphql", "GET"): ("labor", "GET", "/graphql?query=query%20G%20%7B%20occupations%20%7B%20nodes%20%7B%20code"
                                          "%20%7D%20%7D%20%7D", None, {}, "G"),
    ("/graphql", "POST"): ("labor", "POST", "/graphql", b'{"query": "query P { occupations { nodes { code } } }"}',
                           {"content-type": "application/json"}, "P"),
    ("/graphql", "WEBSOCKET"): ("labor", "WEBSOCKET", "/graphql", None, {}, "S"),
    ("/sync/{dataset}/changes", "GET"): ("labor", "GET", "/sync/labor.occupations/changes", None, {},
                                         "sync.changes labor.occupations"),
    ("/sync/{dataset}/snapshot", "GET"): ("commerce", "GET", "/sync/labor.occupations/snapshot?format=csv", None, {},
                                          "sync.snapshot labor.occupations (csv)"),
    ("/ingest/{dataset}", "POST"): ("labor", "POST", "/ingest/labor.occupations", OCCUPATION_NDJSON,
                                    {"content-type": "application/x-ndjson"}, "ingest labor.occupations"),
    # Report drafts are not public. Published versions of the same routes are (the plan publishes them): they are
    # served without a token and leave no audit entry, with a token or without (resolvers.analytics.report.routes).
    # A withdrawn version's figures are not public any more: only admins read them, audited the same way
    # (report.withdrawn YEAR vN (FMT); tests/statistics/test_report_withdrawn.py).
    ("/reports/{year:int}.csv", "GET"): ("education", "GET", "/reports/2024.csv?draft=1", None, {},
                                         "report.draft 2024 (csv)"),
    ("/reports/{year:int}.json", "GET"): ("education", "GET", "/reports/2024.json?draft=1", None, {},
                                          "report.draft 2024 (json)"),
    ("/reports/{year:int}", "GET"): ("admin", "GET", "/reports/2024?draft=1&lang=en", None, {},
                                     "report.draft 2024 (html)"),
}


def _routes(app: Any) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            found.add((route.path, "WEBSOCKET"))
        elif isinstance(route, Mount):
            found.add((route.path, "MOUNT"))
        elif isinstance(route, Route):
            found.update((route.path, m) for m in route.methods or () if m != "HEAD")  # HEAD runs the GET endpoint
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")
    return found


def test_every_route_is_public_or_audited(api) -> None:
    settings, tokens, client = api
    routes = _routes(client.app)
    assert not set(PUBLIC) & set(AUDITED)
    assert routes == set(PUBLIC) | set(AUDITED), (
        f"unclassified routes {sorted(routes - set(PUBLIC) - set(AUDITED))}: list each in PUBLIC (why it returns "
        f"no non-public data) or in AUDITED (and audit it); gone: {sorted(set(PUBLIC) | set(AUDITED) - routes)}")


def _subscribe(client: TestClient, token: str, url: str, before: int) -> list[Any]:
    """Start a subscription, wait for its start entry, stop it; the entries it wrote (start and end)."""
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"],
                                  headers={"Authorization": f"Bearer {token}"}) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        assert json.loads(ws.receive()["bytes"])["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {
            "query": 'subscription S { datasetChanged(dataset: "labor.occupations") { cursor } }'}})
        for _ in range(100):  # the start entry is written before the subscription listens
            if _new_entries(url, before):
                break
            time.sleep(0.05)
        ws.send_json({"id": "1", "type": "complete"})
    entries: list[Any] = []
    for _ in range(100):  # the end entry is written when it ends, after the socket closed
        entries = _new_entries(url, before)
        if len(entries) >= 2:
            break
        time.sleep(0.05)
    return entries


@pytest.mark.parametrize("route", sorted(AUDITED), ids=lambda r: f"{r[1]} {r[0]}")
def test_a_token_bearing_read_writes_one_audit_entry(api, route: tuple[str, str]) -> None:
    settings, tokens, client = api
    who, method, path, body, headers, operation = AUDITED[route]
    url = settings.database_url
    before = _last_id(url)
    if method == "WEBSOCKET":  # a subscription writes one entry when it starts, one when it ends
        start, end = _subscribe(client, tokens[who], url, before)
        assert (start["outcome"], list(start["error_codes"])) == ("OK", [])
        assert list(end["error_codes"]) == ["CANCELLED"]
        entries = [start]
    else:
        response = client.request(method, path, content=body,
                                  headers={**headers, "Authorization": f"Bearer {tokens[who]}"})
        assert response.status_code == 200, response.text
        assert response.content
        entries = _new_entries(url, before)  # written before the answer left (fail closed)
    assert len(entries) == 1, [dict(e) for e in entries]
    [e] = entries
    department = "bigdata" if who == "admin" else who
    assert (e["operation_name"], e["department"], e["consumer_id"]) == (
        operation, department, _consumer_id(url, department))
    if method != "WEBSOCKET":
        assert e["outcome"] == "OK" and list(e["error_codes"]) == []


def test_a_draft_whose_entry_cannot_be_written_is_not_answered(api) -> None:
    settings, tokens, client = api
    url = settings.database_url
    with audit_refused(url, "report.draft%"):
        before = _last_id(url)
        for path in ("/reports/2024.json?draft=1", "/reports/2024.csv?draft=1", "/reports/2024?draft=1"):
            response = client.get(path, headers={"Authorization": f"Bearer {tokens['labor']}"})
            assert response.status_code == 503 and response.headers["retry-after"] == "1"
            assert response.json() == {"errors": [{"message": "audit log unavailable",
                                                   "extensions": {"code": "SERVICE_UNAVAILABLE"}}]}
        assert _new_entries(url, before) == []


def test_a_draft_that_fails_is_audited_with_its_code(api, monkeypatch) -> None:
    settings, tokens, client = api

    async def down(*args: Any) -> Any:
        raise ServiceUnavailable("database unavailable")

    monkeypatch.setattr(report_routes, "draft_report", down)
    before = _last_id(settings.database_url)
    response = client.get("/reports/2024.json?draft=1", headers={"Authorization": f"Bearer {tokens['labor']}"})
    assert response.status_code == 503 and response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    [e] = _new_entries(settings.database_url, before)
    assert (e["operation_name"], e["outcome"], list(e["error_codes"])) == (
        "report.draft 2024 (json)", "ERROR", ["SERVICE_UNAVAILABLE"])


def test_refused_report_requests_leave_no_entry(api) -> None:
    settings, tokens, client = api
    url = settings.database_url
    before = _last_id(url)
    assert client.get("/reports/2024.json").status_code == 401  # a draft without a token: refused, nothing read
    assert client.get("/reports/2024?draft=1&lang=fr", headers={"Authorization": f"Bearer {tokens['labor']}"}
                      ).status_code == 400
    assert _new_entries(url, before) == []


def test_the_command_line_draft_is_audited(api, tmp_path) -> None:
    settings, tokens, client = api
    url = settings.database_url
    before = _last_id(url)
    out = tmp_path / "draft.html"
    result = CliRunner().invoke(cli_app, ["report", "2024", "--draft", "--out", str(out)], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    [e] = _new_entries(url, before)
    assert e["operation_name"] == "report.draft 2024 (html, csv, json)" and e["consumer_name"].startswith("cli: ")
    assert (e["consumer_id"], e["department"], e["outcome"]) == (None, None, "OK")


# --- auditLog over GraphQL -------------------------------------------------------------------------

AUDIT_LOG = """query Log($filter: AuditFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    nodes { id department consumerId operationName operationType outcome errorCodes documentHash datasets
            rows { dataset rows } maskedFields deniedDatasets grants traceId prevHash hash at }
    pageInfo { hasNextPage endCursor } } }"""


def test_audit_log_admin_sees_every_department_others_their_own(api) -> None:
    settings, tokens, client = api
    url = settings.database_url
    for who in ("commerce", "science"):
        _post(client, tokens[who], "query Ping { catalog { name } }")
    admin = _post(client, tokens["admin"], AUDIT_LOG, {"first": 500}).json()
    assert "errors" not in admin, admin
    departments = {n["department"] for n in admin["data"]["auditLog"]["nodes"]}
    assert {"commerce", "science", "labor"} <= departments
    assert len(admin["data"]["auditLog"]["nodes"]) == sql_value(url, "select count(*) from hub.audit_log") - 1
    mine = _post(client, tokens["science"], AUDIT_LOG, {"first": 500}).json()
    nodes = mine["data"]["auditLog"]["nodes"]
    assert nodes and {n["department"] for n in nodes} == {"science"}
    refused = _post(client, tokens["science"], AUDIT_LOG, {"filter": {"department": "commerce"}}).json()
    assert refused["data"]["auditLog"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    last = sql(url, "select * from hub.audit_log order by id desc limit 1")[0]
    assert (last["operation_name"], last["outcome"], last["department"]) == ("Log", "DENIED", "science")


def test_audit_log_filters_and_pages(api) -> None:
    settings, tokens, client = api
    url = settings.database_url
    for _ in range(3):
        _post(client, tokens["education"], "query Filtered { catalog { name } }")
    _post(client, tokens["education"], "query Filtered { nope }")
    education_id = _consumer_id(url, "education")

    def log(filter: dict, first: int = 50, after: str | None = None) -> dict:
        body = _post(client, tokens["admin"], AUDIT_LOG, {"filter": filter, "first": first, "after": after}).json()
        assert "errors" not in body, body
        return body["data"]["auditLog"]

    ok = log({"operationName": "Filtered", "outcome": "OK", "consumerId": education_id})["nodes"]
    assert len(ok) == 3 and all(n["outcome"] == "OK" and n["operationType"] == "QUERY" for n in ok)
    assert ok[0]["datasets"] == [] and ok[0]["documentHash"] == _sha("query Filtered { catalog { name } }")
    errors = log({"operationName": "Filtered", "outcome": "ERROR"})["nodes"]
    assert [n["errorCodes"] for n in errors] == [["GRAPHQL_VALIDATION_FAILED"]]
    # Keyset pages of 2 cover the 4 entries exactly once, in id order.
    seen, after = [], None
    while True:
        page = log({"operationName": "Filtered"}, first=2, after=after)
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 4 and seen == sorted(set(seen))
    # Time range: [since, before).
    at = sql(url, "select at from hub.audit_log where id = $1", seen[1])[0]["at"]
    later = log({"operationName": "Filtered", "since": at.isoformat()})["nodes"]
    assert all(n["id"] >= seen[1] for n in later) and seen[1] in [n["id"] for n in later]
    earlier = log({"operationName": "Filtered", "before": at.isoformat()})["nodes"]
    assert all(n["id"] < seen[1] for n in earlier)
    assert log({"department": "education", "operationName": "Filtered"})["nodes"]
    assert log({"department": "nobody"})["nodes"] == []
    # The chain fields are exposed as stored.
    node = log({"operationName": "Filtered"}, first=1)["nodes"][0]
    assert len(node["hash"]) == 64 and len(node["prevHash"]) == 64


def test_without_a_consumer_the_operation_is_denied_and_audited(api) -> None:
    settings, _, client = api
    schema = client.app.state.schema
    url = settings.database_url

    async def run() -> Any:
        db = await Databases(settings, settings.database_url).open()
        try:
            ctx = Context(settings, db, Access(None, Catalog({}), {}))
            return await schema.execute("query Anon { auditLog { nodes { id } } }", context_value=ctx)
        finally:
            await db.close()

    before = _last_id(url)
    result = asyncio.run(run())
    assert result.data == {"auditLog": None}
    assert result.errors[0].extensions["code"] == "UNAUTHENTICATED"
    [e] = _new_entries(url, before)
    assert (e["consumer_id"], e["department"], e["outcome"]) == (None, None, "DENIED")
    assert list(e["error_codes"]) == ["UNAUTHENTICATED"]


def test_the_trace_id_of_the_operation_is_recorded(api) -> None:
    settings, _, client = api
    schema = client.app.state.schema
    url = settings.database_url
    tracer = TracerProvider().get_tracer("test")

    async def run() -> str:
        db = await Databases(settings, settings.database_url).open()
        try:
            ctx = Context(settings, db, Access(None, Catalog({}), {}))
            with tracer.start_as_current_span("request") as span:
                await schema.execute("query Traced { __typename }", context_value=ctx)
                return format(span.get_span_context().trace_id, "032x")
        finally:
            await db.close()

    before = _last_id(url)
    trace_id = asyncio.run(run())
    [e] = _new_entries(url, before)
    assert e["trace_id"] == trace_id and e["outcome"] == "OK"


def test_the_api_log_verifies(api) -> None:
    settings, _, _ = api
    result = asyncio.run(_verify(settings.database_url))
    assert result.ok, result
    assert result.checked == sql_value(settings.database_url, "select count(*) from hub.audit_log") > 20


# --- the chain -------------------------------------------------------------------------------------

async def _verify(url: str, batch: int = 2000):
    conn = await asyncpg.connect(url)
    try:
        result = await verify(conn, batch=batch)
        assert not conn.is_in_transaction()  # also after stopping early: the connection is reusable
        return result
    finally:
        await conn.close()


@pytest.fixture()
def chain(server_url: str) -> Settings:
    """A fresh database whose log holds 10 entries written concurrently through a pool."""
    settings = _scratch(server_url, CHAIN_DB)

    async def fill() -> None:
        pool = await asyncpg.create_pool(settings.database_url, min_size=5, max_size=5)
        try:
            await asyncio.gather(*(record(pool, AuditEntry(
                operation_name=f"Op{i}", operation_type="query", document_hash=_sha(str(i)), consumer_id=i,
                department="labor", datasets=["labor.job_seekers"], grants=[i], rows={"labor.job_seekers": i},
                masked_fields=["labor.job_seekers.name"], outcome="OK", trace_id=f"{i:032x}"))
                for i in range(1, 11)))
        finally:
            await pool.close()

    asyncio.run(fill())
    return settings


def _tamper(url: str, statement: str, *args: Any) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("set session_replication_role = replica")  # bypasses the triggers
            await conn.execute(statement, *args)
        finally:
            await conn.close()

    asyncio.run(go())


def _ids(url: str) -> list[int]:
    return [r["id"] for r in sql(url, "select id from hub.audit_log order by id")]


def test_concurrent_writes_form_one_chain(chain: Settings) -> None:
    url = chain.database_url
    rows = sql(url, "select id, prev_hash, hash, hub.audit_hash(prev_hash, a) as recomputed "
                    "from hub.audit_log a order by id")
    assert len(rows) == 10
    assert rows[0]["prev_hash"] == ZERO_HASH
    for previous, row in zip(rows, rows[1:]):
        assert row["prev_hash"] == previous["hash"]
    assert all(r["hash"] == r["recomputed"] for r in rows)
    result = asyncio.run(_verify(url, batch=3))  # several cursor fetches
    assert result.ok and result.checked == 10 and result.first_bad_id is None and result.problem is None
    assert (result.head_id, result.head_hash) == (rows[-1]["id"], rows[-1]["hash"])


def test_empty_log_verifies(server_url: str) -> None:
    settings = _scratch(server_url, CHAIN_DB)
    result = asyncio.run(_verify(settings.database_url))
    assert result.ok and result.checked == 0


def test_hash_does_not_depend_on_the_session_time_zone(chain: Settings) -> None:
    async def go() -> bool:
        conn = await asyncpg.connect(chain.database_url, server_settings={"TimeZone": "Asia/Shanghai",
                                                                          "DateStyle": "SQL, DMY"})
        try:
            return (await verify(conn)).ok
        finally:
            await conn.close()

    assert asyncio.run(go())


@pytest.mark.parametrize("change", ["outcome = 'DENIED'", "rows = '{\"labor.job_seekers\": 999}'",
                                    "at = at - interval '1 second'", "error_codes = '{FORBIDDEN}'",
                                    "consumer_id = null"])
def test_an_altered_entry_is_named(chain: Settings, change: str) -> None:
    url = chain.database_url
    target = _ids(url)[4]
    _tamper(url, f"update hub.audit_log set {change} where id = $1", target)
    result = asyncio.run(_verify(url))
    assert not result.ok
    assert result.first_bad_id == target
    assert result.checked == 5
    assert f"entry {target} was altered" in result.problem


def test_an_altered_and_rehashed_entry_breaks_the_next_link(chain: Settings) -> None:
    url = chain.database_url
    ids = _ids(url)
    _tamper(url, "update hub.audit_log a set outcome = 'ERROR' where id = $1", ids[3])
    _tamper(url, "update hub.audit_log a set hash = hub.audit_hash(prev_hash, a) where id = $1", ids[3])
    result = asyncio.run(_verify(url))
    assert not result.ok and result.first_bad_id == ids[4]
    assert f"does not chain from entry {ids[3]}" in result.problem


def test_a_changed_prev_hash_is_named(chain: Settings) -> None:
    url = chain.database_url
    target = _ids(url)[6]
    _tamper(url, "update hub.audit_log set prev_hash = $2 where id = $1", target, "f" * 64)
    result = asyncio.run(_verify(url))
    assert not result.ok and result.first_bad_id == target
    assert "prev_hash was changed" in result.problem


def test_a_removed_middle_entry_is_named_by_the_entry_after_the_gap(chain: Settings) -> None:
    url = chain.database_url
    ids = _ids(url)
    _tamper(url, "delete from hub.audit_log where id = $1", ids[5])
    result = asyncio.run(_verify(url))
    assert not result.ok
    assert result.first_bad_id == ids[6]
    assert f"entry {ids[6]} does not chain from entry {ids[4]}" in result.problem
    assert "an entry before it was removed" in result.problem


def test_a_removed_first_entry_is_detected(chain: Settings) -> None:
    url = chain.database_url
    ids = _ids(url)
    _tamper(url, "delete from hub.audit_log where id = $1", ids[0])
    result = asyncio.run(_verify(url))
    assert not result.ok and result.first_bad_id == ids[1]
    assert "an entry before it was removed" in result.problem


@pytest.mark.parametrize("statement", [
    "update hub.audit_log set outcome = 'OK'",
    "update hub.audit_log set hash = hash where id = (select max(id) from hub.audit_log)",
    "delete from hub.audit_log where id = (select max(id) from hub.audit_log)",
    "delete from hub.audit_log",
    "truncate hub.audit_log",
])
def test_update_delete_and_truncate_are_refused(chain: Settings, statement: str) -> None:
    url = chain.database_url
    with pytest.raises(asyncpg.PostgresError) as info:
        sql(url, statement)
    assert info.value.sqlstate == "2F003"
    assert "hub.audit_log is append-only" in str(info.value)
    assert len(_ids(url)) == 10
    assert asyncio.run(_verify(url)).ok


def test_inserts_cannot_choose_the_chain_fields(chain: Settings) -> None:
    url = chain.database_url
    sql(url, "insert into hub.audit_log (outcome, prev_hash, hash) values ('OK', $1, $1)", "a" * 64)
    last = sql(url, "select prev_hash, hash from hub.audit_log order by id desc limit 1")[0]
    assert last["prev_hash"] != "a" * 64 and last["hash"] != "a" * 64
    assert asyncio.run(_verify(url)).ok
    with pytest.raises(asyncpg.PostgresError):
        sql(url, "insert into hub.audit_log (id, outcome) values (1, 'OK')")  # id is generated always


def test_a_repeatable_read_insert_is_refused(chain: Settings) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(chain.database_url)
        try:
            async with conn.transaction(isolation="repeatable_read"):
                await record(conn, AuditEntry(outcome="OK"))
        finally:
            await conn.close()

    with pytest.raises(asyncpg.PostgresError, match="READ COMMITTED"):
        asyncio.run(go())


# --- the command line ------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_verify_passes_on_a_good_chain(chain: Settings) -> None:
    result = runner.invoke(cli_app, ["audit", "verify"], env={"DATABASE_URL": chain.database_url})
    assert result.exit_code == 0, result.output
    assert "audit log OK: 10 entries checked" in result.output


def test_cli_verify_names_the_entry_after_a_removed_one(chain: Settings) -> None:
    url = chain.database_url
    ids = _ids(url)
    _tamper(url, "delete from hub.audit_log where id = $1", ids[2])
    result = runner.invoke(cli_app, ["audit", "verify"], env={"DATABASE_URL": url})
    assert result.exit_code == 1, result.output
    assert f"entry {ids[3]}" in result.output and "removed" in result.output


@pytest.mark.parametrize("args", [["audit"], ["audit", "verify"]])
def test_audit_commands_have_help(args: list[str]) -> None:
    result = runner.invoke(cli_app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_probe_an_operation_name_with_line_feeds_leaves_one_entry_over_post_get_and_the_socket(client, settings) -> None:
    """Probe (passes on today's code): the audit batch is one text split at line feeds, and ``operationName`` is the
    client's. A name of line feeds (with CR, a NUL) sent over POST, GET and graphql-transport-ws leaves exactly one
    entry per operation, holding the name as sent (NUL as U+FFFD)."""
    url = settings.database_url
    for name in ("\n", "a\r\nb\n", "\x00\n\u2028"):
        stored = name.replace("\x00", "\ufffd")
        before = _last_id(url)
        client.post("/graphql", json={"query": "query Q { __typename }", "operationName": name})
        client.get("/graphql", params={"query": "query Q { __typename }", "operationName": name})
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {}})
            assert json.loads(ws.receive()["bytes"])["type"] == "connection_ack"
            ws.send_json({"id": "1\n2", "type": "subscribe",
                          "payload": {"query": "query Q { __typename }", "operationName": name}})
            ws.receive()  # closed 4400: no such operation (after its entry is written)
        rows = []
        for _ in range(40):
            rows = sql(url, "select operation_name from hub.audit_log where id > $1 order by id", before)
            if len(rows) >= 3:
                break
            time.sleep(0.05)
        assert [r["operation_name"] for r in rows] == [stored] * 3, (name, rows)
