"""The sync endpoints' surface: formats, cursors, errors with stable codes (never 5xx for bad input), the
sharing rules, masking and the audit — the same as for GraphQL."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from dataclasses import replace

import asyncpg
import orjson
import pytest

from hub.governance.masking import mask_id_number, mask_person_name
from hub.sync import feed, http
from tests.support.helpers import approved_grant, sql, sql_value
from tests.support.sync import hub_client, ndjson, scratch

POSTINGS = "labor.job_postings"


def _code(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def test_snapshot_ndjson_streams_every_row_with_its_cursor(client, settings) -> None:
    response = client.get(f"/sync/{POSTINGS}/snapshot")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = ndjson(response.content)
    final = lines.pop()
    assert final == {"cursor": response.headers["x-hub-cursor"], "rows": len(lines)}
    assert len(lines) == sql_value(settings.database_url, "select count(*) from labor.job_postings")
    assert [r["id"] for r in lines] == sorted(r["id"] for r in lines)
    assert set(lines[0]) >= {"id", "title", "enterprise_uscc", "occupation_code", "posted_on", "source_id"}


def test_snapshot_csv(client, settings) -> None:
    response = client.get("/sync/labor.occupations/snapshot", params={"format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    text = response.text
    body, final = text.rstrip("\n").rsplit("\n", 1)
    assert final == f"#cursor={response.headers['x-hub-cursor']};rows={len(body.splitlines()) - 1}"
    rows = list(csv.DictReader(io.StringIO(body)))
    db = {r["code"]: r for r in sql(settings.database_url, "select code, name, major_group from labor.occupations")}
    assert len(rows) == len(db)
    assert all(db[r["code"]]["name"] == r["name"] and str(db[r["code"]]["major_group"]) == r["major_group"]
               for r in rows)


def test_feed_pages_and_final_line(client) -> None:
    first = client.get(f"/sync/{POSTINGS}/changes", params={"limit": 3})
    assert first.status_code == 200
    lines = ndjson(first.content)
    final = lines.pop()
    assert final["count"] == 3 and final["has_more"] is True
    assert first.headers["x-hub-next-cursor"] == final["next_cursor"] == lines[-1]["cursor"]
    assert lines[0]["op"] == "reset"  # the demo seed truncated the table, then loaded it
    assert lines[1]["op"] == "insert" and lines[1]["row"]["id"] == lines[1]["id"]
    second = ndjson(client.get(f"/sync/{POSTINGS}/changes", params={"after": final["next_cursor"],
                                                                      "limit": 2}).content)
    assert second[0]["version"] > lines[-1]["version"]


@pytest.mark.parametrize("path, params, status, code", [
    ("/sync/labor.nothing/changes", {}, 404, "NOT_FOUND"),
    ("/sync/nothing/snapshot", {}, 404, "NOT_FOUND"),
    (f"/sync/{POSTINGS}/snapshot", {"format": "xml"}, 400, "BAD_USER_INPUT"),
    (f"/sync/{POSTINGS}/changes", {"after": "not-a-cursor"}, 400, "BAD_USER_INPUT"),
    # a cursor of another dataset (labor.occupations)
    (f"/sync/{POSTINGS}/changes", {"after": "YzF8bGFib3Iub2NjdXBhdGlvbnN8MXwx"}, 400, "BAD_USER_INPUT"),
    (f"/sync/{POSTINGS}/changes", {"limit": "0"}, 400, "BAD_USER_INPUT"),
    (f"/sync/{POSTINGS}/changes", {"limit": "lots"}, 400, "BAD_USER_INPUT"),
    (f"/sync/{POSTINGS}/changes", {"limit": "100000000"}, 400, "BAD_USER_INPUT"),
])
def test_bad_requests_are_4xx_with_codes(client, path, params, status, code) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    assert _code(response) == code


def test_sync_needs_a_token(client) -> None:
    response = client.get(f"/sync/{POSTINGS}/changes", headers={"Authorization": ""})
    assert response.status_code == 401 and _code(response) == "UNAUTHENTICATED"


@pytest.mark.parametrize("who, dataset, status", [
    ("commerce", "labor.skill_certificates", 403),  # NOT_SHARED
    ("commerce", "labor.job_seekers", 403),  # CONDITIONAL, no grant
    ("admin", "commerce.investment_projects", 403),  # NOT_SHARED, even for the bureau
    ("commerce", "labor.occupations", 200),  # UNCONDITIONAL
    ("labor", "science.tech_transfers", 200),  # CONDITIONAL with the test grant
])
def test_sharing_rules_apply(client, tokens, who, dataset, status) -> None:
    headers = {"Authorization": f"Bearer {tokens[who]}"}
    for kind in ("changes", "snapshot"):
        response = client.get(f"/sync/{dataset}/{kind}", headers=headers)
        assert response.status_code == status, response.text
        if status == 403:
            assert _code(response) == "FORBIDDEN"


def test_every_sync_request_is_audited(client, settings, tokens) -> None:
    url = settings.database_url
    before = sql_value(url, "select coalesce(max(id), 0) from hub.audit_log")
    client.get(f"/sync/{POSTINGS}/changes", params={"limit": 5})
    client.get("/sync/labor.skill_certificates/snapshot", headers={"Authorization": f"Bearer {tokens['commerce']}"})
    rows = sql(url, "select operation_name, operation_type, datasets, rows, outcome, denied, department "
                    "from hub.audit_log where id > $1 order by id", before)
    ops = {r["operation_name"]: r for r in rows}
    feed = ops[f"sync.changes {POSTINGS}"]
    assert feed["outcome"] == "OK" and feed["datasets"] == [POSTINGS] and feed["department"] == "labor"
    assert '"labor.job_postings": 5' in feed["rows"]
    denied = ops["sync.snapshot labor.skill_certificates (ndjson)"]
    assert denied["outcome"] == "DENIED" and denied["denied"] == ["labor.skill_certificates"]


def test_graphql_changes_connection(gql) -> None:
    query = """query($a: String, $f: Int) { changes(dataset: "labor.occupations", after: $a, first: $f) {
        nextCursor edges { cursor node { op version id row } } pageInfo { hasNextPage endCursor } } }"""
    page = gql(query, {"f": 3})["data"]["changes"]
    assert [e["node"]["op"] for e in page["edges"]] == ["RESET", "INSERT", "INSERT"]
    assert page["pageInfo"]["hasNextPage"] and page["pageInfo"]["endCursor"] == page["nextCursor"]
    assert page["edges"][-1]["cursor"] == page["nextCursor"]
    more = gql(query, {"a": page["nextCursor"], "f": 2})["data"]["changes"]
    assert int(more["edges"][0]["node"]["version"]) > int(page["edges"][-1]["node"]["version"])
    assert "code" in more["edges"][0]["node"]["row"]
    for variables, code in (({"a": "bogus"}, "BAD_USER_INPUT"), ({"f": 100000}, "BAD_USER_INPUT")):
        errors = gql(query, variables)["errors"]
        assert errors[0]["extensions"]["code"] == code
    denied = gql('{ changes(dataset: "commerce.investment_projects") { nextCursor } }')
    assert denied["data"]["changes"] is None and denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    missing = gql('{ changes(dataset: "labor.nothing") { nextCursor } }')
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.fixture(scope="module")
def access_db(server_url, settings):
    """Scratch database where commerce holds a grant on labor.job_seekers without personal fields and science
    one naming `name`."""
    s, tokens = scratch(server_url, settings, "hub_test_sync_access")
    for department, fields in (("commerce", []), ("science", ["name"])):
        approved_grant(s.database_url, department, "labor.job_seekers", fields)
    return s, tokens


def test_personal_columns_are_masked_as_in_graphql(access_db) -> None:
    s, tokens = access_db
    raw = {r["id"]: r for r in sql(s.database_url, "select id, name, id_number, phone from labor.job_seekers")}

    async def fetch(who: str, fmt: str = "ndjson"):
        async with hub_client(s, tokens[who]) as client:
            snap = await client.get("/sync/labor.job_seekers/snapshot", params={"format": fmt})
            feed = await client.get("/sync/labor.job_seekers/changes", params={"limit": 50})
            return snap, feed

    owner_snap, _ = asyncio.run(fetch("labor"))
    rows = ndjson(owner_snap.content)[:-1]
    assert all(r["name"] == raw[r["id"]]["name"] and r["phone"] == raw[r["id"]]["phone"] for r in rows)

    snap, feed = asyncio.run(fetch("commerce"))
    rows = ndjson(snap.content)[:-1]
    assert len(rows) == len(raw)
    for r in rows:
        original = raw[r["id"]]
        assert r["name"] != original["name"] and r["name"][0] == original["name"][0] and "*" in r["name"]
        assert r["id_number"] == mask_id_number(original["id_number"]) == original["id_number"][:6] + "*" * 12
        assert r["phone"] == original["phone"][:3] + "****" + original["phone"][-4:]
    changes = [c for c in ndjson(feed.content)[:-1] if c["op"] == "insert"]
    assert changes and all(c["row"]["id_number"][6:] == "*" * 12 for c in changes)

    csv_snap, _ = asyncio.run(fetch("commerce", "csv"))
    body = csv_snap.text.rstrip("\n").rsplit("\n", 1)[0]
    csv_rows = list(csv.DictReader(io.StringIO(body)))
    assert csv_rows and all("*" in r["phone"] for r in csv_rows)
    assert all(r["id_number"] == mask_id_number(raw[int(r["id"])]["id_number"]) for r in csv_rows)

    science, _ = asyncio.run(fetch("science"))
    rows = ndjson(science.content)[:-1]
    assert all(r["name"] == raw[r["id"]]["name"] and "*" in r["id_number"] for r in rows)

    masked = sql_value(s.database_url, "select masked_fields from hub.audit_log where department = 'commerce' and "
                                       "operation_name like 'sync.snapshot labor.job_seekers%' order by id limit 1")
    assert set(masked) == {"labor.job_seekers.name", "labor.job_seekers.idNumber", "labor.job_seekers.phone",
                           "labor.job_seekers.sourceId"}


def test_teachers_are_captured_ingested_and_masked_like_every_personal_field(access_db) -> None:
    """Issue 16: education's specialty teachers (CONDITIONAL, name PERSONAL): an ingested teacher reaches the change
    feed; a grantee without `name` in its grant gets every name masked in the snapshot and the feed, the owner not."""
    s, tokens = access_db
    dataset = "education.specialty_teachers"
    approved_grant(s.database_url, "commerce", dataset)
    school = sql_value(s.database_url, "select code from education.schools order by id limit 1")
    new = {"staff_no": "T99999999", "name": "欧阳明月", "school_code": school, "dual_qualified_since": 2024,
           "hired_on": "2020-09-01"}

    async def run():
        async with hub_client(s, tokens["education"]) as client:
            before = (await client.get(f"/sync/{dataset}/snapshot")).content
            cursor = ndjson(before)[-1]["cursor"]
            report = (await client.post(f"/ingest/{dataset}", content=orjson.dumps(new) + b"\n",
                                        headers={"content-type": "application/x-ndjson"})).json()
        async with hub_client(s, tokens["commerce"]) as client:
            snap = await client.get(f"/sync/{dataset}/snapshot")
            feed = await client.get(f"/sync/{dataset}/changes", params={"after": cursor})
        return report, snap, feed

    report, snap, feed = asyncio.run(run())
    assert (report["inserted"], report["rejected"]) == (1, 0), report
    raw = {r["staff_no"]: r["name"] for r in sql(s.database_url, "select staff_no, name from education.specialty_teachers")}
    rows = ndjson(snap.content)[:-1]
    assert len(rows) == len(raw) and all(r["name"] == mask_person_name(raw[r["staff_no"]]) != raw[r["staff_no"]]
                                         for r in rows)
    [change] = [c for c in ndjson(feed.content)[:-1] if c["op"] == "insert"]
    assert change["row"]["staff_no"] == "T99999999" and change["row"]["name"] == "欧阳**"
    assert change["row"]["dual_qualified"] is True  # the generated flag travels with the row


def test_a_snapshot_failing_mid_stream_ends_without_a_cursor(client, settings, monkeypatch) -> None:
    real = feed.Snapshot.chunks

    async def breaking(self):
        async for chunk in real(self):
            yield chunk
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    monkeypatch.setattr(feed.Snapshot, "chunks", breaking)
    before = sql_value(settings.database_url, "select coalesce(max(id), 0) from hub.audit_log")
    response = client.get(f"/sync/{POSTINGS}/snapshot")
    lines = ndjson(response.content)
    assert lines[-1] == {"error": "SERVICE_UNAVAILABLE"} and len(lines) > 1
    assert not any("cursor" in line for line in lines)
    outcome = sql(settings.database_url, "select outcome, error_codes from hub.audit_log where id > $1 and "
                                         "operation_name like 'sync.snapshot%'", before)
    assert [tuple(r) for r in outcome] == [("ERROR", ["SERVICE_UNAVAILABLE"])]


def test_no_audit_entry_no_data(client, monkeypatch) -> None:
    async def broken(*_args, **_kwargs):
        raise ConnectionError("audit database down")

    monkeypatch.setattr(http, "audit", broken)
    response = client.get(f"/sync/{POSTINGS}/changes", params={"limit": 5})
    assert response.status_code == 503 and _code(response) == "SERVICE_UNAVAILABLE"
    assert "row" not in response.text
    snapshot = client.get(f"/sync/{POSTINGS}/snapshot")
    assert ndjson(snapshot.content)[-1] == {"error": "SERVICE_UNAVAILABLE"}


@pytest.mark.parametrize("path", [f"/sync/{POSTINGS}/changes", f"/sync/{POSTINGS}/snapshot"])
def test_no_free_connection_is_a_fast_503_not_a_hang(settings, tokens, path) -> None:
    """The sync endpoints wait at most HUB_POOL_ACQUIRE_TIMEOUT_MS for a pool connection, like GraphQL."""
    s = replace(settings, pool_min_size=1, pool_max_size=1, pool_acquire_timeout_ms=300, policy_cache_seconds=60.0,
                rate_limit_per_second=0.0)

    async def go():
        async with hub_client(s, tokens["labor"]) as client:
            assert (await client.get(f"/sync/{POSTINGS}/changes", params={"limit": 1})).status_code == 200  # warm
            pool = client.app.state.db.pools["labor"]
            async with pool.acquire():  # the pool's only connection is busy for the whole request
                started = time.monotonic()
                response = await asyncio.wait_for(client.get(path), 20)
                return response, time.monotonic() - started

    response, seconds = asyncio.run(go())
    assert response.status_code == 503 and _code(response) == "SERVICE_UNAVAILABLE", response.text
    assert seconds < 5
