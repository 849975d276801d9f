"""A hand-made dataset for the enrollment guidance and the industry forecasts (issue 16), loaded through the
departments' own tables; the expected lists are worked out by hand in ``tests/statistics/test_guidance.py``.

Quarters 2022 Q1 - 2024 Q4 (labor's horizon 2024), one posting per quarter closing inside it:
  E1 (class 3911, Tianhe), occupation 车工: headcount 10 every quarter          -> 3911 flat: 40 a year
  E2 (class 6511, Tianhe), occupation 软件工程技术人员: headcount 4, 8, ..., 48 -> 6511 growing: 168 in 2024
  E3 (class 8411, Yuexiu), occupation 养老护理员 (O1): headcount 20 in each quarter of 2024, 5 seekers in Yuexiu
     registered on 2024-01-01 -> ratio 20 / 5 (shown 3-7) in every quarter: on 2024's shortage list

Schools and their 2024 graduates:
  Tianhe: T1, T2, T3 teach M2 460104 (-> 39), 30 graduates each; T1 also teaches M1 510201 (-> 6511), 10 graduates
  Yuexiu: Y1 teaches M3 510202 (-> 6511), 20 graduates
Catalog: M1, M2, M3; M4 730701 (-> occupation O1), M5 510203 (-> 6511), M6 570101 (no mapping): untaught.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from hub.settings import Settings
from tests.support import stats_dataset
from tests.support.database import fix_cell_key_secret
from tests.support.stats_dataset import CELL_KEY_SECRET, uscc

D = dt.date
TIANHE, YUEXIU = "440106", "440104"
E1, E2, E3 = uscc("440106MA5D1234X"), uscc("440106MA5F2345Y"), uscc("440104MA5G3456X")
O1, O2, O3 = "4-10-01-01", "6-18-01-01", "2-02-10-01"
T1, T2, T3, Y1 = "4144012001", "3144000011", "3144000012", "3144000021"
M = {1: "510201", 2: "460104", 3: "510202", 4: "730701", 5: "510203", 6: "570101"}
CATALOG = [(M[1], "计算机应用技术", "电子与信息大类"), (M[2], "机械制造及自动化", "装备制造大类"),
           (M[3], "计算机网络技术", "电子与信息大类"), (M[4], "老年服务与管理", "医药卫生大类"),
           (M[5], "软件技术", "电子与信息大类"), (M[6], "早期教育", "教育与体育大类")]

DISTRICTS = [("440100", "广州市", None), (TIANHE, "天河区", "440100"), (YUEXIU, "越秀区", "440100")]
INDUSTRIES = [
    ("C", "制造业", 1, None), ("39", "计算机、通信和其他电子设备制造业", 2, "C"), ("391", "计算机制造", 3, "39"),
    ("3911", "计算机整机制造", 4, "391"),
    ("I", "信息传输、软件和信息技术服务业", 1, None), ("65", "软件和信息技术服务业", 2, "I"), ("651", "软件开发", 3, "65"),
    ("6511", "基础软件开发", 4, "651"),
    ("Q", "卫生和社会工作", 1, None), ("84", "卫生", 2, "Q"), ("841", "医院", 3, "84"), ("8411", "综合医院", 4, "841"),
]
ENTERPRISES = [(E1, "广州市天和电脑有限公司", "3911", TIANHE), (E2, "广州市天河软件有限公司", "6511", TIANHE),
               (E3, "广州市越秀医院有限公司", "8411", YUEXIU)]
OCCUPATIONS = [(O1, "养老护理员"), (O2, "车工"), (O3, "软件工程技术人员")]
QUARTERS = [(y, q) for y in (2022, 2023, 2024) for q in (1, 2, 3, 4)]


def _postings() -> list[tuple]:
    rows = []
    for k, (y, q) in enumerate(QUARTERS, 1):
        start = D(y, 3 * q - 2, 1)
        end = start + dt.timedelta(days=9)
        rows.append((E1, O2, 10, TIANHE, start, end))
        rows.append((E2, O3, 4 * k, TIANHE, start, end))
        if y == 2024:
            rows.append((E3, O1, 20, YUEXIU, start, end))
    return rows


SCHOOLS = [(T1, "广州天河职业技术学院", "HIGHER_VOCATIONAL", TIANHE),
           (T2, "广州天河第二职业技术学校", "SECONDARY_VOCATIONAL", TIANHE),
           (T3, "广州天河第三职业技术学校", "SECONDARY_VOCATIONAL", TIANHE),
           (Y1, "广州越秀职业技术学校", "SECONDARY_VOCATIONAL", YUEXIU)]
# school, major key, graduates in 2024 (all employed)
OFFERINGS = [(T1, 2, 30), (T2, 2, 30), (T3, 2, 30), (T1, 1, 10), (Y1, 3, 20)]
MAJOR_INDUSTRIES = [(M[1], "6511"), (M[2], "39"), (M[3], "6511"), (M[5], "6511")]
MAJOR_OCCUPATIONS = [(M[4], O1), (M[1], O3)]


async def load(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.executemany("insert into hub.districts (code, name, parent_code) values ($1, $2, $3) "
                                   "on conflict (code) do nothing", DISTRICTS)
            await fix_cell_key_secret(conn, CELL_KEY_SECRET)
            await conn.executemany("insert into labor.occupations (code, name, major_group) values ($1, $2, $3)",
                                   [(c, n, int(c[0])) for c, n in OCCUPATIONS])
            await conn.executemany(
                "insert into labor.job_postings (title, enterprise_uscc, occupation_code, headcount, wage_min, "
                "wage_max, education, skill_level, district_code, posted_on, closes_on) "
                "values ('岗位', $1, $2, $3, 5000, 6000, 'HIGH_SCHOOL', 4, $4, $5, $6)", _postings())
            await conn.executemany(
                "insert into labor.job_seekers (name, id_number, phone, gender, birth_year, education, "
                "occupation_code, skill_level, district_code, registered_on) "
                "values ($1, $2, $3, 'F', 1990, 'HIGH_SCHOOL', $4, 4, $5, '2024-01-01')",
                [(f"求职者{n}", f"44010419900101{n:03d}X", f"139{n:08d}", O1, YUEXIU) for n in range(1, 6)])
            await conn.executemany("insert into commerce.industries (code, name, level, parent_code) "
                                   "values ($1, $2, $3, $4)", INDUSTRIES)
            await conn.executemany(
                "insert into commerce.enterprises (uscc, name, industry_code, district_code, size, founded_on) "
                "values ($1, $2, $3, $4, 'SMALL', '2010-01-01')", ENTERPRISES)
            await conn.executemany("insert into education.major_catalog (code, name, category) values ($1, $2, $3)",
                                   CATALOG)
            await conn.executemany("insert into education.schools (code, name, kind, district_code) "
                                   "values ($1, $2, $3, $4)", SCHOOLS)
            names = {code: name for code, name, _ in CATALOG}
            for school, key, graduates in OFFERINGS:
                major_id = await conn.fetchval("insert into education.majors (code, name, school_code) "
                                               "values ($1, $2, $3) returning id", M[key], names[M[key]], school)
                await conn.execute("insert into education.major_outcomes (major_id, year, enrollment, graduates, "
                                   "employed) values ($1, 2024, $2, $2, $2)", major_id, graduates)
            await conn.executemany("insert into education.major_industries (major_code, industry_code) "
                                   "values ($1, $2)", MAJOR_INDUSTRIES)
            await conn.executemany("insert into education.major_occupations (major_code, occupation_code) "
                                   "values ($1, $2)", MAJOR_OCCUPATIONS)
    finally:
        await conn.close()


async def prepare(settings: Settings) -> dict[str, str]:
    """Migrate, load, refresh; returns the demo consumers' tokens."""
    return await stats_dataset.prepare(settings, {}, loader=lambda urls: load(settings.database_url))
