"""Sync with departments in separate databases: each department's change log, snapshot and ingest live in
its own database, and ingest looks other departments' codes up through their own pools."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import orjson

from tests.support.database import prepare, with_database
from tests.support.helpers import sql, sql_value
from tests.support.sync import Follower, hub_client, ndjson, newest_txid, source_rows
from tests.support.database import keep_only


def test_feed_snapshot_and_ingest_use_each_departments_own_database(server_url, settings) -> None:
    labor_url = with_database(server_url, "hub_test_sync_split_labor")
    commerce_url = with_database(server_url, "hub_test_sync_split_commerce")
    tokens = {}
    for name, url in (("hub_test_sync_split_labor", labor_url), ("hub_test_sync_split_commerce", commerce_url)):
        tokens[name] = asyncio.run(prepare(replace(settings, database_url=url, department_urls={}), server_url, name))
    asyncio.run(keep_only(labor_url, "labor"))  # the labor database no longer holds any enterprise
    asyncio.run(keep_only(commerce_url, "commerce"))
    split = replace(settings, database_url=labor_url, department_urls={"labor": labor_url, "commerce": commerce_url},
                    rate_limit_per_second=0.0)
    token = tokens["hub_test_sync_split_labor"]["labor"]
    known = sql_value(commerce_url, "select min(uscc) from commerce.enterprises")
    occupation = sql_value(labor_url, "select min(code) from labor.occupations")
    row = {"title": "钳工", "occupation_code": occupation, "headcount": 1, "wage_min": 5000, "wage_max": 6000,
           "education": "HIGH_SCHOOL", "district_code": "440106", "posted_on": "2025-01-01"}
    unknown = sql_value(labor_url, "select min(enterprise_uscc) from labor.job_postings where enterprise_uscc <> $1",
                        known)
    sql(commerce_url, "delete from commerce.investment_projects where enterprise_uscc = $1", unknown)
    sql(commerce_url, "delete from commerce.enterprises where uscc = $1", unknown)

    async def go():
        async with hub_client(split, token) as client:
            body = b"".join(orjson.dumps({**row, "source_id": sid, "enterprise_uscc": uscc}) + b"\n"
                            for sid, uscc in (("S-known", known), ("S-unknown", unknown)))
            report = (await client.post("/ingest/labor.job_postings", content=body,
                                        headers={"content-type": "application/x-ndjson"})).json()
            follower = Follower(client, dataset="commerce.enterprises", limit=2000)
            await follower.catch_up(past=await newest_txid(commerce_url))
            snapshot = ndjson((await client.get("/sync/commerce.enterprises/snapshot")).content)[:-1]
            postings = Follower(client, limit=5000)
            await postings.catch_up(past=await newest_txid(labor_url))
            return report, follower, snapshot, postings

    report, follower, snapshot, postings = asyncio.run(go())
    assert report["inserted"] == 2 and report["warnings"] == 1
    assert report["warningRows"][0]["line"] == 2 and unknown in report["warningRows"][0]["reason"]
    enterprises = asyncio.run(source_rows(commerce_url, "commerce.enterprises"))
    assert len(enterprises) > 100
    assert follower.replica.rows == enterprises  # read from commerce's own log, not labor's
    assert {r["id"]: r for r in snapshot} == enterprises
    assert postings.replica.rows == asyncio.run(source_rows(labor_url))
    logged = "select count(*) from hub_sync.change_log where data ->> 'source_id' like 'S-%'"
    assert (sql_value(labor_url, logged), sql_value(commerce_url, logged)) == (2, 0)  # logged beside the data
