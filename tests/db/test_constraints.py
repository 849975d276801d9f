"""The data model's CHECK constraints enforce the real code formats and ranges."""

from __future__ import annotations

import asyncio
import datetime

import asyncpg
import pytest

from hub.settings import Settings


async def _attempt(url: str, sql: str, *args) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute(sql, *args)
            raise _Rollback()
    except _Rollback:
        pass
    finally:
        await conn.close()


class _Rollback(Exception):
    pass


def accepted(settings: Settings, sql: str, *args) -> bool:
    try:
        asyncio.run(_attempt(settings.database_url, sql, *args))
        return True
    except asyncpg.IntegrityConstraintViolationError:
        return False


@pytest.mark.parametrize("uscc,ok", [
    ("91350100M000100Y43", True),    # a real code, check character 3
    ("91350100M000100Y44", False),   # wrong check character
    ("91350100M000100Y4", False),    # 17 characters
    ("91350100M000100I43", False),   # I is not in the GB 32100 character set
    ("9135010OM000100Y43", False),   # letter in the district part
])
def test_uscc_check_character(settings: Settings, uscc: str, ok: bool) -> None:
    sql = ("insert into commerce.enterprises (uscc, name, industry_code, district_code, size, founded_on) "
           "select $1, 'x', code, '440106', 'SMALL', '2020-01-01' from commerce.industries where level = 4 limit 1")
    assert accepted(settings, sql, uscc) is ok


POSTING = ("insert into labor.job_postings (title, enterprise_uscc, occupation_code, headcount, wage_min, wage_max, "
           "education, skill_level, district_code, posted_on, closes_on) "
           "select 't', '91350100M000100Y43', code, $1, $2, $3, 'NONE', null, $4, $5::date, $6::date "
           "from labor.occupations limit 1")


@pytest.mark.parametrize("headcount,wmin,wmax,district,posted,closes,ok", [
    (1, 3000, 5000, "440106", "2024-01-01", "2024-02-01", True),
    (1, 3000, 5000, "440106", "2024-01-01", None, True),
    (0, 3000, 5000, "440106", "2024-01-01", None, False),         # headcount > 0
    (1, 6000, 5000, "440106", "2024-01-01", None, False),         # wage_min <= wage_max
    (1, 3000, 5000, "44010", "2024-01-01", None, False),          # 6-digit district
    (1, 3000, 5000, "040106", "2024-01-01", None, False),         # district cannot start with 0
    (1, 3000, 5000, "440106", "2024-03-01", "2024-02-01", False), # posted_on <= closes_on
])
def test_posting_ranges(settings: Settings, headcount, wmin, wmax, district, posted, closes, ok) -> None:
    posted_d = datetime.date.fromisoformat(posted)
    closes_d = datetime.date.fromisoformat(closes) if closes else None
    assert accepted(settings, POSTING, headcount, wmin, wmax, district, posted_d, closes_d) is ok


@pytest.mark.parametrize("code,ok", [("8-99-99-98", True), ("6-18-1-01", False), ("9-18-01-01", False),
                                     ("61801", False)])
def test_occupation_code_format(settings: Settings, code: str, ok: bool) -> None:
    sql = "insert into labor.occupations (code, name, major_group) values ($1, 'x', substr($1, 1, 1)::smallint)"
    try:
        result = accepted(settings, sql, code)
    except asyncpg.InvalidTextRepresentationError:  # "61801" is not even a major group
        result = False
    assert result is ok


@pytest.mark.parametrize("code,level,parent,ok", [
    ("Z", 1, None, False),        # sections are A-T
    ("3499", 3, "349", False),    # level must match the code's length
    ("34", 2, None, False),       # only sections have no parent
])
def test_industry_codes(settings: Settings, code, level, parent, ok) -> None:
    sql = "insert into commerce.industries (code, name, level, parent_code) values ($1, 'x', $2, $3)"
    assert accepted(settings, sql, code, level, parent) is ok


HEX64 = "0123456789abcdef" * 4


@pytest.mark.parametrize("column,value,ok", [
    ("hash", HEX64, True),
    ("hash", HEX64.upper(), False),          # upper-case hex is not what sha256 hexdigest writes
    ("hash", HEX64[:63], False),
    ("hash", HEX64 + "0", False),
    ("hash", HEX64[:63] + "g", False),
    ("hash", HEX64[:63] + "\n", False),
    ("hash", "", False),
    ("prev_hash", HEX64[:63] + " ", False),
    ("prev_hash", "0" * 64, True),
    ("document_hash", HEX64, True),
    ("document_hash", HEX64[:60] + "é" * 4, False),
    ("document_hash", None, True),
    ("trace_id", HEX64[:32], True),
    ("trace_id", HEX64[:31], False),
    ("trace_id", HEX64[:31] + "Z", False),
    ("trace_id", None, True),
])
def test_audit_log_hex_columns(settings: Settings, column: str, value: str | None, ok: bool) -> None:
    """hub.audit_log's hashes and trace ids are lower-case hex of their exact length (migration 0026 states the
    checks as a length and a negated character class; they accept and refuse what the regular expressions of
    0007 did). The row is inserted the way the chain's trigger expects (it sets prev_hash and hash), so only the
    checks of ``column`` decide."""
    values = {"document_hash": HEX64, "trace_id": HEX64[:32], "prev_hash": HEX64, "hash": HEX64, column: value}

    async def attempt() -> None:
        conn = await asyncpg.connect(settings.database_url)
        try:
            async with conn.transaction():
                # the append function's flag: the chain's trigger leaves prev_hash and hash as given
                await conn.execute("select set_config('hub.audit_append', 'on', true)")
                await conn.execute(
                    "insert into hub.audit_log (id, operation_type, outcome, document_hash, trace_id, prev_hash, hash) "
                    "overriding system value values (-1, 'query', 'OK', $1, $2, $3, $4)",
                    values["document_hash"], values["trace_id"], values["prev_hash"], values["hash"])
                raise _Rollback()
        except _Rollback:
            pass
        finally:
            await conn.close()

    try:
        asyncio.run(attempt())
        accepted_here = True
    except asyncpg.CheckViolationError:
        accepted_here = False
    assert accepted_here is ok
