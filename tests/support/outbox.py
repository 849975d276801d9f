"""Shared by tests: moved from sync/test_audit_outbox.py (the audit outbox's tests and its attacker's)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Iterator

import orjson

from tests.support.helpers import sql, sql_value
from tests.support.sync import hub_client

POSTINGS = "labor.job_postings"
NDJSON = {"content-type": "application/x-ndjson"}
PENDING = "select count(*) from hub.audit_outbox"
OPERATION = f"ingest {POSTINGS}"
ENTRIES = "select count(*) from hub.audit_log where operation_name = $1"


def posting(known: dict[str, str], source_id: str) -> dict[str, Any]:
    return {"source_id": source_id, "title": "数控车工", "enterprise_uscc": known["uscc"],
            "occupation_code": known["occupation"], "headcount": 3, "wage_min": 6000, "wage_max": 8000,
            "education": "SECONDARY_VOCATIONAL", "skill_level": 4, "district_code": "440106",
            "posted_on": "2025-03-01", "closes_on": "2025-04-30"}


def body(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


def post(settings, token: str, data: bytes, headers: dict[str, str] | None = None):
    async def go():
        async with hub_client(settings, token) as client:
            return await client.post(f"/ingest/{POSTINGS}", content=data, headers={**NDJSON, **(headers or {})})
    return asyncio.run(go())


def graphql(settings, token: str, query: str, **variables: Any) -> dict[str, Any]:
    async def go():
        async with hub_client(settings, token) as client:
            return (await client.post("/graphql", json={"query": query, "variables": variables})).json()
    return asyncio.run(go())


@contextlib.contextmanager
def refused(url: str, event: str, name: str, message: str) -> Iterator[None]:
    """While inside, the database refuses every ``event`` (insert, delete) on hub.audit_outbox with ``message``: a
    trigger ``name``, dropped on the way out."""
    sql(url, f"""create or replace function hub.{name}() returns trigger language plpgsql as $$
                begin raise exception '{message}'; end $$""")
    sql(url, f"""create trigger {name} before {event} on hub.audit_outbox for each row execute function hub.{name}()""")
    try:
        yield
    finally:
        sql(url, f"drop trigger {name} on hub.audit_outbox")
        sql(url, f"drop function hub.{name}()")


def clearing_fails(url: str) -> contextlib.AbstractContextManager[None]:
    """While inside, the database refuses to delete an entry from its audit outbox (an operation's own clearing after
    its entry was written, as when that database fails just then)."""
    return refused(url, "delete", "test_refuse_clear", "the outbox cannot be cleared")


def keeping_fails(url: str) -> contextlib.AbstractContextManager[None]:
    """While inside, keeping an entry in the audit outbox fails (after the entry was drafted, before the write
    commits: its transaction rolls back)."""
    return refused(url, "insert", "test_refuse_keep", "the entry cannot be kept")


def known_codes(url: str) -> dict[str, str]:
    """An occupation code and an enterprise's USCC of the demo data at ``url``, for valid postings."""
    return {"occupation": sql_value(url, "select min(code) from labor.occupations"),
            "uscc": sql_value(url, "select min(uscc) from commerce.enterprises")}
