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
