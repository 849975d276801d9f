"""One definition of the audit entry hash (hub.governance.audit_hash): the database's function (hub.audit_content /
hub.audit_hash, used by the insert trigger) and the Python definition (used by `hub audit verify` and by any
writer that hashes entries itself) agree, field for field and byte for byte."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any, Iterator

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from hub.governance.audit import AuditEntry, record, verify
from hub.governance.audit_hash import FIELDS, ZERO_HASH, content, entry_hash, entry_values
from hub.governance.audit_writer import AuditWriter
from hub.db.pools import Databases
from tests.support.database import empty_database

DB = "hub_test_audit_hash"


@pytest.fixture(scope="module")
def hash_db(server_url: str) -> Iterator[tuple[asyncio.AbstractEventLoop, asyncpg.Connection, Any]]:
    """A migrated scratch database, one event loop and one connection to it for many examples."""
    settings, _ = empty_database(server_url, DB)
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(settings.database_url))
    try:
        yield loop, conn, settings
    finally:
        loop.run_until_complete(conn.close())
        loop.close()


def test_the_definition_names_every_hashed_column(hash_db) -> None:
    loop, conn, _ = hash_db
    columns = loop.run_until_complete(conn.fetch(
        "select column_name from information_schema.columns where table_schema = 'hub' "
        "and table_name = 'audit_log' order by ordinal_position"))
    assert tuple(r["column_name"] for r in columns if r["column_name"] not in ("prev_hash", "hash")) == FIELDS
    # and the database's content names exactly the same fields
    sql_content = loop.run_until_complete(conn.fetchval(
        "select hub.audit_content(jsonb_populate_record(null::hub.audit_log, "
        "'{\"id\": 1, \"at\": \"2026-01-01T00:00:00Z\"}'::jsonb))"))
    assert set(json.loads(sql_content)) == set(FIELDS)


_POPULATE = """select hub.audit_content(r) as sql_content, hub.audit_hash($2, r) as sql_hash, r.*
               from jsonb_populate_record(null::hub.audit_log, $1::jsonb) as r"""


def _database_side(loop, conn, values: dict[str, Any], prev_hash: str) -> asyncpg.Record:
    doc = {**values, "at": values["at"].isoformat(),
           "rows": values["rows"] if not isinstance(values["rows"], str) else json.loads(values["rows"])}
    return loop.run_until_complete(conn.fetchrow(_POPULATE, json.dumps(doc), prev_hash))


def _check_agree(loop, conn, values: dict[str, Any], prev_hash: str = ZERO_HASH) -> None:
    row = _database_side(loop, conn, values, prev_hash)
    # as a writer hashes what it inserts
    assert content(values) == row["sql_content"]
    assert entry_hash(prev_hash, values) == row["sql_hash"]
    # as `hub audit verify` hashes what it reads back (jsonb rows as the database returns them)
    read_back = {f: row[f] for f in FIELDS}
    assert content(read_back) == row["sql_content"]


# No NUL (PostgreSQL text cannot hold it) and no lone surrogates (not UTF-8).
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_maybe_text = st.none() | _text
_bigint = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_times = st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9998, 12, 31),
                      timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=8)),
                                                 dt.timezone(dt.timedelta(hours=-3, minutes=-30))]))
_entries = st.fixed_dictionaries({
    "id": st.integers(min_value=1, max_value=2**63 - 1),
    "at": _times,
    "consumer_id": st.none() | _bigint,
    "department": _maybe_text,
    "consumer_name": _maybe_text,
    "operation_name": _maybe_text,
    "operation_type": _text,
    "document_hash": _maybe_text,
    "datasets": st.lists(st.none() | _text, max_size=4),
    "grants": st.lists(st.none() | _bigint, max_size=4),
    "rows": st.dictionaries(_text, _bigint, max_size=5),
    "masked_fields": st.lists(_text, max_size=4),
    "denied": st.lists(_text, max_size=3),
    "outcome": _text,
    "error_codes": st.lists(_text, max_size=3),
    "trace_id": _maybe_text,
})


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=_entries, prev_hash=st.sampled_from([ZERO_HASH, "ab" * 32]))
def test_database_and_python_agree_on_any_entry(hash_db, values: dict[str, Any], prev_hash: str) -> None:
    loop, conn, _ = hash_db
    _check_agree(loop, conn, values, prev_hash)


TRICKY = [
    # unicode of every width, jsonb's escapes, the characters JSON libraries often escape but jsonb does not
    {"department": "劳动", "consumer_name": "Zoë 🎉 \u2028\u2029 \x7f", "operation_name": 'a"b\\c/d',
     "datasets": ["labor.job_seekers", "é", "\x01\x1f\b\f\n\r\t"], "rows": {"é": 1, "ab": 2, "b": 3, "🎉": 4}},
    # nulls and empty lists everywhere they may be
    {"consumer_id": None, "department": None, "consumer_name": None, "operation_name": None, "document_hash": None,
     "trace_id": None, "datasets": [], "grants": [], "rows": {}, "masked_fields": [], "denied": [], "error_codes": []},
    # null array elements, extreme integers, keys that sort by length before bytes
    {"grants": [None, -(2**63), 2**63 - 1, 0], "datasets": [None], "rows": {"bb": -1, "a": 0, "ccc": 2**62}},
]


@pytest.mark.parametrize("case", range(len(TRICKY)))
def test_database_and_python_agree_on_tricky_entries(hash_db, case: int) -> None:
    loop, conn, _ = hash_db
    base = {"id": 7, "at": dt.datetime(2026, 12, 4, 21, 42, 3, 5, tzinfo=dt.timezone.utc), "consumer_id": 3,
            "department": "labor", "consumer_name": "x", "operation_name": "Op", "operation_type": "query",
            "document_hash": "0" * 64, "datasets": [], "grants": [], "rows": {}, "masked_fields": [], "denied": [],
            "outcome": "OK", "error_codes": [], "trace_id": "1" * 32}
    _check_agree(loop, conn, {**base, **TRICKY[case]})


def test_rows_read_back_keep_the_databases_numbers(hash_db) -> None:
    """Entries written around the hub (rows is any JSON object) still verify: the digits the database
    wrote are kept, nested values are rendered like the rest."""
    loop, conn, _ = hash_db
    values = {f: None for f in FIELDS}
    values.update(id=1, at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), operation_type="query", outcome="OK",
                  datasets=[], grants=[], masked_fields=[], denied=[], error_codes=[],
                  rows='{"a": 1.50, "b": [1, {"c": null, "dd": "é"}], "é": true, "n": -0.000001, "e": 1e3}')
    row = _database_side(loop, conn, values, ZERO_HASH)
    assert content({f: row[f] for f in FIELDS}) == row["sql_content"]


def test_floats_are_refused_rather_than_guessed() -> None:
    values = {f: None for f in FIELDS}
    values.update(id=1, at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), rows={"a": 1.5})
    with pytest.raises(TypeError, match="float"):
        content(values)


def test_the_writer_and_the_trigger_agree(hash_db) -> None:
    """Entries written by the group-commit writer and by record() get, from the trigger, exactly the hash the
    Python definition gives for the values the writer sent, the id and time the database gave them."""
    loop, conn, settings = hash_db
    entries = [AuditEntry(operation_name=f"Op{i}", operation_type="query", consumer_id=i, department="劳动",
                          consumer_name=f"Zoë 🎉 {i}\n\"q\"", datasets=["labor.job_seekers", "é"][: i % 3],
                          grants=[i, 2**40][: i % 3], rows={"labor.job_seekers": i, "é": 2**40} if i % 2 else {},
                          masked_fields=[], denied=["x\ty"] if i == 3 else [], error_codes=["FORBIDDEN"] * (i % 2),
                          outcome="OK", trace_id=f"{i:032x}" if i % 2 else None, document_hash=None)
               for i in range(1, 9)]

    async def write() -> None:
        db = await Databases(settings, settings.database_url).open()
        try:
            writer = AuditWriter(db.hub, max_batch=3)
            await asyncio.gather(*(writer.write(e) for e in entries[:6]))
            await writer.close()
            for e in entries[6:]:
                await record(db.hub, e)
        finally:
            await db.close()

    before = loop.run_until_complete(conn.fetchval("select coalesce(max(id), 0) from hub.audit_log"))
    loop.run_until_complete(write())
    rows = loop.run_until_complete(conn.fetch(
        "select id, at, prev_hash, hash, operation_name from hub.audit_log where id > $1 order by id", before))
    by_name = {e.operation_name: e for e in entries}
    assert sorted(r["operation_name"] for r in rows) == sorted(by_name)
    for row in rows:
        values = entry_values(by_name[row["operation_name"]], id=row["id"], at=row["at"])
        assert entry_hash(row["prev_hash"], values) == row["hash"], row["operation_name"]
    assert loop.run_until_complete(verify(conn)).ok
