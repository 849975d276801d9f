"""A small hand-made dataset for the published statistics, loaded through the departments' own tables.

The expected figures are worked out by hand in ``tests/statistics/test_statistics.py`` (written there as literals).
Years 2023-2024; labor's horizon is 2024 (the last year with a posting or seeker registered), so open postings
and seekers count up to 2024 Q4.

Occupations (2024):
  A 6-25-01-01  demand Q1..Q4 15/20/30/10, supply 10 each: ratios 1.5 (exactly), 2.0, 3.0, 1.0 -> 3 quarters
  B 6-25-02-01  demand 8/8/4/0, supply 5/5/4/4: ratios 1.6, 1.6, 1.0, 0 -> 2 quarters, not a shortage
  C 4-01-02-01  demand 2 each, one seeker (a small cell): ratio 2.0 in 4 quarters but annual demand 8 < 10
  D 2-02-10-01  demand 5 in Q1, no seeker: ratio null
  E 6-18-01-01  demand 6, supply 3 in every quarter of 2023 and 2024: shortage both years

Hostile names (2022 only, so no figure above changes): occupation F is named ``<script>...`` and has one
training program in 2022 whose provider is ``=HYPERLINK(...)`` — the report page must escape the one and its
CSV neutralise the other (issue 12).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from hub.db.pools import Databases
from hub.db.runtime import migrate_all
from hub.governance.consumers import create_demo_consumers
from hub.sync.check_chars import uscc_check_char
from hub.settings import Settings
from resolvers.analytics.statistics import refresh_statistics
from tests.support.database import fix_cell_key_secret

D = dt.date
CELL_KEY_SECRET = "stats-dataset-254"


def uscc(body: str) -> str:
    first17 = "91" + body
    return first17 + uscc_check_char(first17)


TIANHE, YUEXIU, HAIZHU = "440106", "440104", "440105"
E1 = uscc("440106MA5D1234X")  # industry 3911 (section C), Tianhe
E2 = uscc("440104MA5E5678Y")  # industry 6511 (section I), Yuexiu
OCC = {"A": "6-25-01-01", "B": "6-25-02-01", "C": "4-01-02-01", "D": "2-02-10-01", "E": "6-18-01-01",
       "F": "6-99-00-01"}
SCRIPT_NAME = '<script>alert("occupation")</script>'
HYPERLINK_PROVIDER = '=HYPERLINK("http://evil.example/x","click")'
S1, S2, S3 = "4144012001", "3144000002", "3144000003"
MAJOR = {"X": "510201", "Y": "510202", "Z": "460104", "W": "570101", "V": "730701", "U": "730702"}

DISTRICTS = [("440100", "广州市", None), (TIANHE, "天河区", "440100"), (YUEXIU, "越秀区", "440100"),
             (HAIZHU, "海珠区", "440100")]
INDUSTRIES = [  # code, name, level, parent
    ("C", "制造业", 1, None), ("39", "计算机、通信和其他电子设备制造业", 2, "C"), ("391", "计算机制造", 3, "39"),
    ("3911", "计算机整机制造", 4, "391"),
    ("I", "信息传输、软件和信息技术服务业", 1, None), ("65", "软件和信息技术服务业", 2, "I"), ("651", "软件开发", 3, "65"),
    ("6511", "基础软件开发", 4, "651"),
]
# uscc, name, industry, district, integration enterprise, year certified (E2: integration, year not kept)
ENTERPRISES = [(E1, "广州市天和电脑有限公司", "3911", TIANHE, True, 2021),
               (E2, "广州市越秀软件有限公司", "6511", YUEXIU, True, None)]
OCCUPATIONS = [(OCC["A"], "计算机整机装配调试员"), (OCC["B"], "电子产品装配工"), (OCC["C"], "中式烹调师"),
               (OCC["D"], "软件工程技术人员"), (OCC["E"], "车工"), (OCC["F"], SCRIPT_NAME)]
# occupation, headcount, skill level, district, posted_on, closes_on, enterprise
POSTINGS = [
    ("A", 15, 3, TIANHE, D(2024, 1, 10), D(2024, 3, 31), E1),   # Q1
    ("A", 20, 4, TIANHE, D(2024, 5, 1), D(2024, 7, 15), E1),    # spans Q2 and Q3
    ("A", 10, None, YUEXIU, D(2024, 8, 1), D(2024, 10, 1), E2),  # closes on the first day of Q4: Q3 and Q4
    ("B", 8, 4, YUEXIU, D(2024, 2, 1), D(2024, 3, 15), E2),
    ("B", 8, 4, YUEXIU, D(2024, 4, 10), D(2024, 6, 30), E2),
    ("B", 4, 4, YUEXIU, D(2024, 7, 1), D(2024, 9, 30), E2),
    ("C", 2, 5, TIANHE, D(2024, 1, 1), D(2024, 12, 31), E1),
    ("D", 5, 2, YUEXIU, D(2024, 2, 20), D(2024, 3, 20), E2),
    ("E", 6, 4, TIANHE, D(2023, 1, 1), None, E1),                # open: every quarter of 2023 and 2024
]
# occupation, count, skill level, district, registered_on, left_on
SEEKERS = [
    ("A", 3, 3, TIANHE, D(2024, 1, 1), None), ("A", 3, 4, TIANHE, D(2024, 1, 1), None),
    ("A", 2, 3, YUEXIU, D(2024, 1, 1), None), ("A", 2, 4, YUEXIU, D(2024, 1, 1), None),
    ("B", 4, 4, YUEXIU, D(2024, 1, 1), None),
    ("B", 1, 4, YUEXIU, D(2023, 10, 15), D(2024, 4, 1)),  # 2023 Q4, and leaves on the first day of 2024 Q2
    ("C", 1, 5, TIANHE, D(2024, 1, 1), None),
    ("E", 3, 4, TIANHE, D(2023, 1, 1), None),
]
# occupation, provider, seats, starts_on, ends_on
TRAINING = [
    ("A", "甲培训学校", 30, D(2024, 3, 1), D(2024, 4, 30)),
    ("A", "乙职业技能培训中心", 20, D(2023, 12, 1), D(2024, 1, 31)),  # runs in 2023 and 2024
    ("D", "甲培训学校", 10, D(2024, 6, 1), D(2024, 6, 30)),
    ("B", "乙职业技能培训中心", 15, D(2023, 5, 1), D(2023, 6, 30)),
    ("F", HYPERLINK_PROVIDER, 12, D(2022, 3, 1), D(2022, 5, 31)),
]
SCHOOLS = [(S1, "广州天河职业技术学院", "HIGHER_VOCATIONAL", TIANHE),
           (S2, "广州越秀职业技术学校", "SECONDARY_VOCATIONAL", YUEXIU),
           (S3, "广州海珠职业技术学校", "SECONDARY_VOCATIONAL", HAIZHU)]
MAJORS = [("X", "计算机应用技术", S1), ("Z", "机械制造及自动化", S1), ("Y", "计算机网络技术", S2), ("W", "早期教育", S2),
          ("V", "老年服务与管理", S3), ("U", "社区康复", S3)]
MAPPINGS = [("X", "3911"), ("X", "6511"), ("Y", "6511"), ("Z", "39")]  # X: two industries; Z: a division
# major, year, graduates, employed
OUTCOMES = [
    ("X", 2022, 5, 5), ("X", 2023, 5, 4), ("X", 2024, 5, 3),         # 0.80 exactly is not below; 1 year below
    ("Y", 2022, 100, 90), ("Y", 2023, 100, 70), ("Y", 2024, 104, 78),  # 2 years below: YELLOW
    ("Z", 2022, 80, 60), ("Z", 2023, 80, 63), ("Z", 2024, 90, 70),     # 3 years below: RED
    ("W", 2023, 1, 0), ("W", 2024, 1, 0),                              # 2 years below, from 2 persons
    # Small years inside a run (issue 13): V below in 2020-2023, but 2022 has 2 graduates (1 employed): the
    # 2023 warning (4 years) and the 2022 one (3 years, ending with the small year) rest on a small figure.
    ("V", 2020, 10, 7), ("V", 2021, 10, 7), ("V", 2022, 2, 1), ("V", 2023, 10, 7),
    # U below in 2022-2023; the year that ends the run (2021, not below) has 2 graduates.
    ("U", 2021, 2, 2), ("U", 2022, 10, 7), ("U", 2023, 10, 7),
]

# The plan's sources (issue 16; figures worked out in tests/statistics/test_plan_indicators.py).
# school, major, kind, year: KEY_GROUP cumulative 2019: 1, 2021: 2, 2023: 3; SHORTAGE_SPECIALTY 2020: 2;
# APPRENTICESHIP 2022: 1
MAJOR_DESIGNATIONS = [(S1, "X", "KEY_GROUP", 2019), (S2, "Y", "KEY_GROUP", 2021), (S3, "V", "KEY_GROUP", 2023),
                      (S1, "Z", "SHORTAGE_SPECIALTY", 2020), (S2, "W", "SHORTAGE_SPECIALTY", 2020),
                      (S3, "U", "APPRENTICESHIP", 2022)]
# code, kind, school, enterprise, year: DOUBLE_BASE 2020: 1, 2022: 2; TRAINING_BASE 2024: 1
BASES = [("SEB00001", "DOUBLE_BASE", S1, E1, 2020), ("SEB00002", "DOUBLE_BASE", S2, E2, 2022),
         ("SEB00003", "TRAINING_BASE", S1, E2, 2024)]
SCHOOL_DESIGNATIONS = [(S2, "CITY_HIGH_STANDARD", 2023)]
# staff no, school, dual-qualified since, hired on, left on. On 31 December (teachers / dual-qualified):
#   2020: S1 5/3, S2 2/0, S3 1/1, city 8/4 (0.5); 2022: S1 4/3 (T5 left), S2 2/0, S3 1/1, city 7/4;
#   2023 and 2024: S1 4/3, S2 2/1, S3 1/1, city 7/5. S2 and S3 are small cells (1-2 persons).
TEACHERS = [("T00000001", S1, 2018, D(2015, 9, 1), None), ("T00000002", S1, 2021, D(2015, 9, 1), None),
            ("T00000003", S1, None, D(2016, 9, 1), None), ("T00000004", S1, 2019, D(2019, 3, 1), None),
            ("T00000005", S1, 2017, D(2015, 9, 1), D(2022, 6, 30)),
            ("T00000006", S2, 2023, D(2020, 9, 1), None), ("T00000007", S2, None, D(2020, 9, 1), None),
            ("T00000008", S3, 2020, D(2018, 9, 1), None)]


def _seeker_rows() -> list[tuple[Any, ...]]:
    rows, n = [], 0
    for occ, count, level, district, registered, left in SEEKERS:
        for _ in range(count):
            n += 1
            rows.append((f"求职者{n}", f"{district}19900101{n:03d}1"[:17] + "X", f"138{n:08d}", "M", 1990,
                         "HIGH_SCHOOL", OCC[occ], level, district, registered, left))
    return rows


async def load_labor(conn: asyncpg.Connection) -> None:
    await conn.executemany("insert into labor.occupations (code, name, major_group) values ($1, $2, $3)",
                           [(c, n, int(c[0])) for c, n in OCCUPATIONS])
    await conn.executemany(
        "insert into labor.job_postings (title, enterprise_uscc, occupation_code, headcount, wage_min, wage_max, "
        "education, skill_level, district_code, posted_on, closes_on) "
        "values ('岗位', $1, $2, $3, 5000, 6000, 'HIGH_SCHOOL', $4, $5, $6, $7)",
        [(e, OCC[o], h, lv, d, p, c) for o, h, lv, d, p, c, e in POSTINGS])
    await conn.executemany(
        "insert into labor.job_seekers (name, id_number, phone, gender, birth_year, education, occupation_code, "
        "skill_level, district_code, registered_on, left_on) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        _seeker_rows())
    await conn.executemany(
        "insert into labor.training_programs (code, name, occupation_code, provider, seats, district_code, starts_on, "
        "ends_on) values ($1, '培训班', $2, $3, $4, '440106', $5, $6)",
        [(f"TP{i:06d}", OCC[o], p, s, a, b) for i, (o, p, s, a, b) in enumerate(TRAINING, 1)])


async def load_commerce(conn: asyncpg.Connection) -> None:
    await conn.executemany("insert into commerce.industries (code, name, level, parent_code) values ($1, $2, $3, $4)",
                           INDUSTRIES)
    await conn.executemany(
        "insert into commerce.enterprises (uscc, name, industry_code, district_code, size, founded_on, integration, "
        "integration_certified_year) values ($1, $2, $3, $4, 'SMALL', '2010-01-01', $5, $6)", ENTERPRISES)


async def load_education(conn: asyncpg.Connection) -> None:
    await conn.executemany("insert into education.schools (code, name, kind, district_code) values ($1, $2, $3, $4)",
                           SCHOOLS)
    ids = {}
    for key, name, school in MAJORS:
        ids[key] = await conn.fetchval("insert into education.majors (code, name, school_code) values ($1, $2, $3) "
                                       "returning id", MAJOR[key], name, school)
    await conn.executemany("insert into education.major_industries (major_code, industry_code) values ($1, $2)",
                           [(MAJOR[m], i) for m, i in MAPPINGS])
    await conn.executemany(
        "insert into education.major_outcomes (major_id, year, enrollment, graduates, employed) "
        "values ($1, $2, $3, $3, $4)", [(ids[m], y, g, e) for m, y, g, e in OUTCOMES])
    await conn.executemany("insert into education.major_designations (school_code, major_code, kind, year) "
                           "values ($1, $2, $3, $4)", [(s, MAJOR[m], k, y) for s, m, k, y in MAJOR_DESIGNATIONS])
    await conn.executemany("insert into education.school_enterprise_bases (code, name, kind, school_code, "
                           "enterprise_uscc, established_year) values ($1, '基地', $2, $3, $4, $5)", BASES)
    await conn.executemany("insert into education.school_designations (school_code, kind, year) values ($1, $2, $3)",
                           SCHOOL_DESIGNATIONS)
    await conn.executemany("insert into education.specialty_teachers (staff_no, name, school_code, "
                           "dual_qualified_since, hired_on, left_on) values ($1, '教师' || $1, $2, $3, $4, $5)",
                           TEACHERS)


async def load_districts(conn: asyncpg.Connection) -> None:
    await conn.executemany("insert into hub.districts (code, name, parent_code) values ($1, $2, $3) "
                           "on conflict (code) do nothing", DISTRICTS)
    await fix_cell_key_secret(conn, CELL_KEY_SECRET)


async def load(urls: dict[str, str]) -> None:
    """Insert the dataset: ``urls`` maps hub, labor, commerce and education to their database URLs."""
    for key, loader in (("hub", load_districts), ("labor", load_labor), ("commerce", load_commerce),
                        ("education", load_education)):
        conn = await asyncpg.connect(urls[key])
        try:
            async with conn.transaction():
                await loader(conn)
        finally:
            await conn.close()


async def prepare(settings: Settings, urls: dict[str, str], loader: Any = None) -> dict[str, str]:
    """Migrate every database of ``settings``, load the dataset (``loader(urls)``: this module's ``load`` unless
    given), refresh the statistics; returns the demo consumers' tokens (commerce, labor, science, education,
    admin)."""
    await migrate_all(settings)
    await (loader or load)(urls)
    db = await Databases(settings, settings.database_url).open()
    try:
        await refresh_statistics(db)
        return await create_demo_consumers(db.hub)
    finally:
        await db.close()
