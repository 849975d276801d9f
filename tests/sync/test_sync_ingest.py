"""Bulk ingest: NDJSON/CSV streamed into a staging table and upserted by natural key; every rejected row kept
with its reason; unknown codes of other departments accepted with a warning; idempotent by key."""

from __future__ import annotations

import asyncio
import json

import orjson
import pytest

from hub.sync.check_chars import uscc_check_char
from hub.sync.specs import ingest_specs
from tests.support.helpers import audit_refused, sql, sql_value
from tests.support.sync import drain_outbox, hub_client, scratch

POSTINGS = "labor.job_postings"
NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture(scope="module")
def ingest_db(server_url, settings):
    # A small generic body limit: /ingest has its own (larger) one.
    return scratch(server_url, settings, "hub_test_sync_ingest", max_body_bytes=4096,
                   ingest_max_body_bytes=1_500_000)


@pytest.fixture(scope="module")
def known(ingest_db):
    url = ingest_db[0].database_url
    return {"occupation": sql_value(url, "select min(code) from labor.occupations"),
            "uscc": sql_value(url, "select min(uscc) from commerce.enterprises")}


def unknown_uscc() -> str:
    first17 = "91440106MA7X9K3P2"
    return first17 + uscc_check_char(first17)


def posting(known, source_id: str, **changes) -> dict:
    row = {"source_id": source_id, "title": "数控车工", "enterprise_uscc": known["uscc"],
           "occupation_code": known["occupation"], "headcount": 3, "wage_min": 6000, "wage_max": 8000,
           "education": "SECONDARY_VOCATIONAL", "skill_level": 4, "district_code": "440106",
           "posted_on": "2025-03-01", "closes_on": "2025-04-30"}
    row.update(changes)
    return {k: v for k, v in row.items() if v is not ...}


def body(rows) -> bytes:
    return b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in rows)


def post(s, token, dataset, data, headers=None, params=None):
    async def go():
        async with hub_client(s, token) as client:
            return await client.post(f"/ingest/{dataset}", content=data, headers={**NDJSON, **(headers or {})},
                                     params=params)
    return asyncio.run(go())


def test_valid_rows_applied_invalid_rows_kept_with_reasons(ingest_db, known) -> None:
    s, tokens = ingest_db
    rows = [
        posting(known, "V-1"),
        posting(known, "V-2", enterprise_uscc=unknown_uscc()),  # well-formed, unknown to commerce: warning
        posting(known, "V-3", enterprise_uscc=unknown_uscc()[:-1] + "0"),  # wrong check character
        posting(known, "V-4", headcount=0),  # range
        posting(known, "V-5", wage_min=9000),  # wage_min > wage_max
        posting(known, "V-6", closes_on="2025-02-30"),  # not a date
        posting(known, "V-7", occupation_code="8-99-99-99"),  # unknown occupation (labor's own reference)
        posting(known, "V-8", district_code="44010"),  # format
        posting(known, "V-9", colour="red"),  # unknown field
        posting(known, "V-10", title=...),  # required field missing
        b"{not json",
        posting(known, "V-11", headcount=1),
        posting(known, "V-11", headcount=2),  # the later duplicate wins
    ]
    response = post(s, tokens["labor"], POSTINGS, body(rows))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["received"], report["inserted"], report["rejected"], report["warnings"]) == (13, 3, 10, 1)
    reasons = {r["line"]: (r["field"], r["reason"]) for r in report["rejectedRows"]}
    assert reasons[3][0] == "enterprise_uscc" and "check character" in reasons[3][1]
    assert reasons[4][0] == "headcount" and "range" in reasons[4][1]
    assert reasons[5] == ("wage_max", "wage_min 9000 exceeds wage_max 8000")
    assert reasons[6][0] == "closes_on"
    assert reasons[7][0] == "occupation_code" and "labor.occupations" in reasons[7][1]
    assert reasons[8][0] == "district_code"
    assert "colour" in reasons[9][1] and reasons[10] == ("title", "is required")
    assert "JSON" in reasons[11][1] and "line 13 supersedes" in reasons[12][1]
    assert report["warningRows"][0]["line"] == 2 and "not known to commerce" in report["warningRows"][0]["reason"]
    url = s.database_url
    stored = sql(url, "select source_id, headcount from labor.job_postings where source_id like 'V-%' order by 1")
    assert [(r["source_id"], r["headcount"]) for r in stored] == [("V-1", 3), ("V-11", 2), ("V-2", 3)]
    issues = sql(url, "select line, severity, reason, raw from hub_sync.ingest_issues where batch_id = $1 "
                      "order by line, severity", report["batchId"])
    assert len(issues) == 11 and all(i["raw"] for i in issues if i["severity"] == "REJECTED")
    raw = {i["line"]: i["raw"] for i in issues if i["severity"] == "REJECTED"}
    assert json.loads(raw[3])["source_id"] == "V-3" and raw[11] == "{not json"
    assert json.loads(raw[7])["occupation_code"] == "8-99-99-99"  # rebuilt from the staged values


def test_upsert_by_natural_key_counts_updated_and_unchanged(ingest_db, known) -> None:
    s, tokens = ingest_db
    first = post(s, tokens["labor"], POSTINGS, body([posting(known, f"U-{i}") for i in range(5)])).json()
    assert first["inserted"] == 5
    again = [posting(known, f"U-{i}", headcount=9 if i < 2 else 3) for i in range(5)] + [posting(known, "U-5")]
    second = post(s, tokens["labor"], POSTINGS, body(again)).json()
    assert (second["inserted"], second["updated"], second["unchanged"]) == (1, 2, 3)
    assert sql_value(s.database_url, "select count(*) from labor.job_postings where source_id like 'U-%'") == 6


def test_csv_ingest(ingest_db, known) -> None:
    s, tokens = ingest_db
    header = "sourceId,title,enterprise_uscc,occupation_code,headcount,wage_min,wage_max,education,skill_level," \
             "district_code,posted_on,closes_on\n"
    lines = [f'C-1,"车工, ""高级""",{known["uscc"]},{known["occupation"]},2,5000,6000,HIGH_SCHOOL,,440106,'
             f'2025-01-01,\n',
             f'C-2,"two\nlines",{known["uscc"]},{known["occupation"]},2,5000,6000,HIGH_SCHOOL,3,440106,2025-01-01,'
             f'2025-02-01\n',
             f'C-3,short,row\n']
    response = post(s, tokens["labor"], POSTINGS, (header + "".join(lines)).encode(),
                    headers={"content-type": "text/csv"})
    report = response.json()
    assert (report["inserted"], report["rejected"]) == (2, 1), report
    # File lines: header 1, C-1 2, C-2 3-4 (a quoted newline), C-3 5.
    assert "3 fields" in report["rejectedRows"][0]["reason"] and report["rejectedRows"][0]["line"] == 5
    rows = {r["source_id"]: r for r in sql(s.database_url, "select source_id, title, skill_level, closes_on from "
                                                            "labor.job_postings where source_id like 'C-%'")}
    assert rows["C-1"]["title"] == '车工, "高级"' and rows["C-1"]["skill_level"] is None
    assert rows["C-1"]["closes_on"] is None and rows["C-2"]["title"] == "two\nlines"


@pytest.mark.parametrize("data, headers, status", [
    (b"source_id,colour\nX,red\n", {"content-type": "text/csv"}, 400),  # unknown column
    (b"source_id,title\nX,y\n", {"content-type": "text/csv"}, 400),  # required columns missing
    (b'{"a": 1}\n', {"content-type": "application/xml"}, 415),
    (b'{"a": 1}\n', {"content-type": ""}, 415),
])
def test_request_level_errors(ingest_db, data, headers, status) -> None:
    s, tokens = ingest_db
    response = post(s, tokens["labor"], POSTINGS, data, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_idempotency_key_applies_once_and_returns_the_same_report(ingest_db, known) -> None:
    s, tokens = ingest_db
    data = body([posting(known, "I-1"), posting(known, "I-2", headcount=-1)])
    key = {"idempotency-key": "batch-2025-03-01"}
    first = post(s, tokens["labor"], POSTINGS, data, headers=key)
    sql(s.database_url, "update labor.job_postings set headcount = 42 where source_id = 'I-1'")
    second = post(s, tokens["labor"], POSTINGS, data, headers=key)
    assert first.headers["idempotent-replayed"] == "false" and second.headers["idempotent-replayed"] == "true"
    assert {**first.json(), "replayed": True} == second.json()
    assert sql_value(s.database_url, "select headcount from labor.job_postings where source_id = 'I-1'") == 42
    assert sql_value(s.database_url, "select count(*) from hub_sync.ingest_batches where idempotency_key = $1",
                     "batch-2025-03-01") == 1


def test_concurrent_retries_apply_once(ingest_db, known) -> None:
    s, tokens = ingest_db
    data = body([posting(known, f"R-{i}") for i in range(200)])

    async def go():
        async with hub_client(s, tokens["labor"]) as client:
            return await asyncio.gather(*(client.post(f"/ingest/{POSTINGS}", content=data,
                                                      headers={**NDJSON, "idempotency-key": "race"})
                                          for _ in range(4)))

    responses = asyncio.run(go())
    assert sorted(r.headers["idempotent-replayed"] for r in responses) == ["false", "true", "true", "true"]
    assert len({r.json()["batchId"] for r in responses}) == 1


def test_only_the_owner_or_an_admin_may_ingest(ingest_db, known) -> None:
    s, tokens = ingest_db
    data = body([posting(known, "A-1")])
    denied = post(s, tokens["commerce"], POSTINGS, data)
    assert denied.status_code == 403 and denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert post(s, tokens["admin"], POSTINGS, data).json()["inserted"] == 1
    audit = sql(s.database_url, "select outcome, operation_type, department from hub.audit_log "
                                "where operation_name = 'ingest labor.job_postings' order by id")
    assert ("DENIED", "mutation", "commerce") in [tuple(r) for r in audit]
    assert ("OK", "mutation", "bigdata") in [tuple(r) for r in audit]


def test_ingest_has_its_own_body_limit(ingest_db, known) -> None:
    s, tokens = ingest_db
    rows = [posting(known, f"B-{i}") for i in range(300)]  # ~100 KB: over the generic 4 KB limit
    report = post(s, tokens["labor"], POSTINGS, body(rows)).json()
    assert report["inserted"] == 300
    too_big = post(s, tokens["labor"], POSTINGS, body(rows * 20))  # over the 1.5 MB ingest limit
    assert too_big.status_code == 413
    assert sql_value(s.database_url, "select count(*) from labor.job_postings where source_id like 'B-%'") == 300


def test_a_row_the_database_refuses_is_isolated(ingest_db) -> None:
    """Division 97 names a parent section that does not exist and is rejected; class 971 names 97 (in the batch
    when checked) and is refused by the foreign key at the upsert: the batch is bisected, 971 alone rejected."""
    s, tokens = ingest_db
    rows = [{"code": "97", "name": "新门类的大类", "parent_code": "T"},
            {"code": "971", "name": "新中类", "parent_code": "97"},
            {"code": "9711", "name": "孤立的小类", "parent_code": "971"},
            {"code": "98", "name": "另一个新大类", "parent_code": "S"}]
    sql(s.database_url, "delete from commerce.industries where code = 'T'")
    report = post(s, tokens["commerce"], "commerce.industries", body(rows)).json()
    assert report["inserted"] == 1 and report["rejected"] == 3, report
    assert sql_value(s.database_url, "select name from commerce.industries where code = '98'") == "另一个新大类"
    reasons = {r["line"]: r["reason"] for r in report["rejectedRows"]}
    assert "not in commerce.industries" in reasons[1]
    assert any("refused by the database" in reasons[line] for line in (2, 3))


def test_graphql_ingest_mutation(ingest_db, known) -> None:
    s, tokens = ingest_db
    mutation = """mutation($rows: [JSON!]!, $key: String) { ingest(dataset: "labor.job_postings", rows: $rows,
        idempotencyKey: $key) { batchId replayed received inserted rejected warnings
        rejectedRows { line field reason } } }"""
    rows = [{**posting(known, "G-1"), "wageMin": 6000}, posting(known, "G-2", skill_level=9)]
    rows[0].pop("wage_min")

    async def go(token, variables):
        async with hub_client(s, token) as client:
            return (await client.post("/graphql", json={"query": mutation, "variables": variables})).json()

    first = asyncio.run(go(tokens["labor"], {"rows": rows, "key": "g1"}))["data"]["ingest"]
    assert (first["inserted"], first["rejected"], first["replayed"]) == (1, 1, False)
    assert first["rejectedRows"][0] == {"line": 2, "field": "skill_level", "reason": "9 is out of range [1, 5]"}
    again = asyncio.run(go(tokens["labor"], {"rows": rows, "key": "g1"}))["data"]["ingest"]
    assert again["replayed"] and again["batchId"] == first["batchId"]
    denied = asyncio.run(go(tokens["science"], {"rows": rows}))
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    too_many = asyncio.run(go(tokens["labor"], {"rows": [{}] * 1001}))
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def _rows_of(url: str, dataset: str) -> list[dict]:
    if dataset == "education.major_outcomes":
        query = ("select jsonb_build_object('school_code', m.school_code, 'major_code', m.code, 'year', o.year, "
                 "'enrollment', o.enrollment, 'graduates', o.graduates, 'employed', o.employed)::text "
                 "from education.major_outcomes o join education.majors m on m.id = o.major_id")
    else:
        schema, table = dataset.split(".")
        # generated columns (education.specialty_teachers.dual_qualified) are derived, never ingested
        generated = [r[0] for r in sql(url, "select column_name from information_schema.columns where table_schema = $1 "
                                            "and table_name = $2 and is_generated = 'ALWAYS'", schema, table)]
        query = f'select (to_jsonb(t) - \'id\' - $1::text[])::text from "{schema}"."{table}" t'
        return [orjson.loads(r[0]) for r in sql(url, query, generated)]
    return [orjson.loads(r[0]) for r in sql(url, query)]


def test_every_dataset_round_trips_unchanged(ingest_db) -> None:
    """Every catalog dataset's own rows, ingested back by its owner, are all accepted and found unchanged by natural
    key: the validation accepts whatever the database's constraints accept, for all 20 datasets. (An admin is told
    ``unchanged`` only for datasets it reads in clear: hub.sync.report_view.)"""
    s, tokens = ingest_db
    url = s.database_url
    assert set(ingest_specs()) == {r[0] for r in sql(url, "select name from hub.datasets")}
    for table in ("job_postings", "job_seekers"):
        sql(url, f"update labor.{table} set source_id = 'seed-' || id where source_id is null")
    for dataset in sorted(ingest_specs()):
        rows = _rows_of(url, dataset)
        report = post(s, tokens[dataset.split(".")[0]], dataset, body(rows)).json()
        assert report["received"] == len(rows) > 0, dataset
        assert (report["rejected"], report["unchanged"]) == (0, len(rows)), (dataset, report["rejectedRows"][:3])


def test_changed_values_update_by_natural_key(ingest_db) -> None:
    s, tokens = ingest_db
    url = s.database_url
    outcomes = _rows_of(url, "education.major_outcomes")
    for row in outcomes:
        row["enrollment"] += 1
    report = post(s, tokens["education"], "education.major_outcomes", body(outcomes)).json()
    assert (report["updated"], report["inserted"], report["rejected"]) == (len(outcomes), 0, 0)
    assert sql_value(url, "select count(*) from education.major_outcomes") == len(outcomes)
    unknown_major = [{**outcomes[0], "major_code": "999999"}]
    report = post(s, tokens["education"], "education.major_outcomes", body(unknown_major)).json()
    assert report["rejected"] == 1 and "school_code/major_code" in report["rejectedRows"][0]["reason"]


def test_ingest_and_feed_metrics(ingest_db, known) -> None:
    s, tokens = ingest_db

    async def go():
        async with hub_client(s, tokens["labor"]) as client:
            await client.post(f"/ingest/{POSTINGS}", content=body([posting(known, "M-1"), posting(known, "M-2"),
                                                                    posting(known, "M-3", headcount=0)]),
                              headers=NDJSON)
            await client.get(f"/sync/{POSTINGS}/changes", params={"limit": 1})
            return (await client.get("/metrics")).text

    text = asyncio.run(go())
    assert 'hub_ingested_rows_total{dataset="labor.job_postings"} 2.0' in text
    assert 'hub_ingest_rejected_rows_total{dataset="labor.job_postings"} 1.0' in text
    series = 'hub_sync_feed_lag_seconds{feed="labor.job_postings"}'
    lag = [line for line in text.splitlines() if line.startswith(series)]
    assert lag and float(lag[0].split()[-1]) > 0  # the first change of the log is from the seeding


def test_the_major_catalog_is_ingestible_by_education(ingest_db) -> None:
    """Issue 16: the national major catalog is education's dataset: new codes are inserted, a bad one rejected,
    other departments may not ingest it."""
    s, tokens = ingest_db
    rows = [{"code": "510299", "name": "人工智能技术应用", "category": "电子与信息大类"},
            {"code": "51029", "name": "五位代码", "category": "电子与信息大类"}]
    report = post(s, tokens["education"], "education.major_catalog", body(rows)).json()
    assert (report["inserted"], report["rejected"]) == (1, 1), report
    assert sql_value(s.database_url, "select name from education.major_catalog where code = '510299'") == \
        "人工智能技术应用"
    assert post(s, tokens["labor"], "education.major_catalog", body(rows[:1])).status_code == 403


def test_a_batch_applied_but_not_audited_still_refreshes_the_statistics(ingest_db, known) -> None:
    """When a batch is stored but its audit entry cannot be written (503, "the batch was applied"), the published
    statistics are refreshed all the same, as after an audited batch and as the GraphQL mutation does: they skipped
    the refresh, so the figures missed stored rows until some later write refreshed them."""
    s, tokens = ingest_db
    url = s.database_url
    before = sql_value(url, "select count(*) from hub.stat_refreshes")

    async def go() -> tuple[int, int]:
        async with hub_client(s, tokens["labor"]) as client:
            response = await client.post(f"/ingest/{POSTINGS}", content=body([posting(known, "UNAUDITED-1")]),
                                         headers=NDJSON)
            for _ in range(300):  # the refresh runs in the background of this app: wait for it while it lives
                refreshes = await asyncio.to_thread(sql_value, url, "select count(*) from hub.stat_refreshes")
                if refreshes > before:
                    break
                await asyncio.sleep(0.1)
            return response.status_code, refreshes

    with audit_refused(url, "ingest labor.job_postings"):
        status, refreshes = asyncio.run(go())
    assert status == 503
    assert sql_value(url, "select count(*) from labor.job_postings where source_id = 'UNAUDITED-1'") == 1
    assert refreshes == before + 1
    assert drain_outbox(s).appended == 1  # its entry, kept with the batch (hub.governance.audit_outbox)


def test_an_unaudited_batch_tells_its_writer_nothing_until_a_replay_is_audited(ingest_db, known) -> None:
    """A batch stored whose audit entry could not be written answers 503 without its report; the writer's retry with
    the same Idempotency-Key is the replay, answered with the report only once its own entry was written, and it
    refreshes nothing again (no refresh without a changed row). Another consumer's use of the key is CONFLICT."""
    s, tokens = ingest_db
    url = s.database_url
    key = {"Idempotency-Key": "unaudited-then-replayed-1", **NDJSON}
    data = body([posting(known, "UNAUDITED-REPLAY-1")])
    with audit_refused(url, "ingest labor.job_postings"):
        refused = post(s, tokens["labor"], POSTINGS, data, headers=key)
    assert refused.status_code == 503 and "inserted" not in refused.text and "UNAUDITED" not in refused.text
    entries = "select count(*) from hub.audit_log where operation_name = 'ingest labor.job_postings'"
    audited, refreshes = sql_value(url, entries), sql_value(url, "select count(*) from hub.stat_refreshes")
    replay = post(s, tokens["labor"], POSTINGS, data, headers=key)
    assert replay.status_code == 200 and replay.json()["replayed"] is True and replay.json()["inserted"] == 1
    assert sql_value(url, entries) == audited + 1
    assert sql_value(url, "select count(*) from hub.stat_refreshes") == refreshes
    assert post(s, tokens["commerce"], POSTINGS, data, headers=key).status_code in (403, 409)
    assert sql_value(url, "select count(*) from labor.job_postings where source_id = 'UNAUDITED-REPLAY-1'") == 1
    # The batch's own entry (its write) is the outbox's, besides the replay's (a read of its report).
    audited = sql_value(url, entries)
    assert drain_outbox(s).appended == 1 and sql_value(url, entries) == audited + 1
