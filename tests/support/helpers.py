"""Small helpers for tests that compare GraphQL answers with the database."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Iterator

import asyncpg


def sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


def sql_value(url: str, query: str, *args: Any) -> Any:
    rows = sql(url, query, *args)
    return rows[0][0] if rows else None


def approved_grant(url: str, department: str, dataset: str, fields: list[str] | tuple[str, ...] = (),
                   expires_in_seconds: float = 30 * 86400, purpose: str = "test grant") -> int:
    """An access request of ``department``'s first consumer for ``dataset``, approved, and its grant (``fields``: the
    PERSONAL fields it unmasks), written straight into the hub schema as a review writes them; the grant's id."""
    consumer_id = sql_value(url, "select min(id) from hub.consumers where department = $1", department)
    request_id = sql_value(url, "insert into hub.access_requests (consumer_id, department, dataset, fields, purpose, "
                                "until, status, reviewed_at) values ($1, $2, $3, $4, $5, current_date + 30, "
                                "'APPROVED', now()) returning id", consumer_id, department, dataset, list(fields), purpose)
    return sql_value(url, "insert into hub.grants (request_id, department, dataset, fields, expires_at) values "
                          "($1, $2, $3, $4, now() + make_interval(secs => $5)) returning id",
                     request_id, department, dataset, list(fields), float(expires_in_seconds))


def body_of(response: Any) -> dict[str, Any]:
    """A GraphQL response's JSON without ``extensions.traceId``, after checking that it names the trace of
    the response's ``traceresponse`` header (hub.telemetry.observe): every GraphQL answer carries both."""
    body = response.json()
    extensions = body.get("extensions") or {}
    trace_id = extensions.pop("traceId", None)
    header = response.headers.get("traceresponse", "")
    assert trace_id is not None and len(trace_id) == 32, f"no extensions.traceId in {body}"
    assert header.split("-")[1:2] == [trace_id], f"traceresponse {header!r} is not trace {trace_id}"
    if "extensions" in body and not extensions:
        del body["extensions"]
    return body


@contextlib.contextmanager
def audit_refused(url: str, operation_like: str) -> Iterator[None]:
    """While inside, the audit log refuses (with an error) every entry whose operation name is LIKE
    ``operation_like``: a trigger on ``hub.audit_log``, dropped on the way out."""
    sql(url, """create or replace function hub.test_refuse_audit() returns trigger language plpgsql as $$
                begin raise exception 'audit storage is broken'; end $$""")
    sql(url, f"""create trigger test_refuse_audit before insert on hub.audit_log for each row
                 when (new.operation_name like '{operation_like}') execute function hub.test_refuse_audit()""")
    try:
        yield
    finally:
        sql(url, "drop trigger test_refuse_audit on hub.audit_log")
        sql(url, "drop function hub.test_refuse_audit()")
