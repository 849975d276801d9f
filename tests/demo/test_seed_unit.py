"""The demo-data generator without a database: check characters, determinism, formats and the
cross-department codes it promises to keep consistent."""

from __future__ import annotations

import re

import pytest

from hub.demo.scales import COLUMNS, SCALES
from hub.demo.seed import generate
from hub.sync.check_chars import id_number_check_char, uscc_check_char
from hub.demo.names import DISTRICTS


@pytest.fixture(scope="module")
def data() -> dict[str, list[tuple]]:
    return generate("small", 42)


def col(data: dict[str, list[tuple]], table: str, name: str) -> list:
    i = COLUMNS[table].index(name)
    return [r[i] for r in data[table]]


def rows(data: dict[str, list[tuple]], table: str) -> list[dict]:
    return [dict(zip(COLUMNS[table], r)) for r in data[table]]


USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
ID_NUMBER = re.compile(r"^[0-9]{17}[0-9X]$")
PHONE = re.compile(r"^1[3-9][0-9]{9}$")
OCCUPATION = re.compile(r"^[1-8]-[0-9]{2}-[0-9]{2}-[0-9]{2}$")
DISTRICT = re.compile(r"^[1-9][0-9]{5}$")
GZ_DISTRICTS = {c for c, _ in DISTRICTS}


@pytest.mark.parametrize("code", [
    "91350100M000100Y43",   # the GB 32100 example
    "91440300708461136T",   # 深圳市腾讯计算机系统有限公司
    "914403001922038216",   # 华为技术有限公司
    "91110000802100433B",   # 北京百度网讯科技有限公司
])
def test_uscc_check_char_of_real_codes(code: str) -> None:
    assert uscc_check_char(code[:17]) == code[17]


def test_uscc_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        uscc_check_char("91350100M000100Y")
    with pytest.raises(ValueError):
        uscc_check_char("91350100M000100I4")  # I is not in the character set


def test_id_number_check_char() -> None:
    assert id_number_check_char("11010519491231002") == "X"
    assert id_number_check_char("44010619900101001") == "10X98765432"[
        sum(int(d) * w for d, w in zip("44010619900101001", (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2))) % 11]
    with pytest.raises(ValueError):
        id_number_check_char("1101051949123100")


def test_counts_match_scales(data) -> None:
    for table, n in SCALES["small"].items():
        assert len(data[table]) == n, table
    assert set(SCALES) == {"small", "medium", "large"}
    assert SCALES["large"]["commerce.enterprises"] >= 20_000 and SCALES["large"]["labor.job_postings"] >= 200_000
    assert SCALES["large"]["commerce.industries"] >= 100


def test_rows_match_columns(data) -> None:
    assert set(data) == set(COLUMNS)
    for table, table_rows in data.items():
        assert all(len(r) == len(COLUMNS[table]) for r in table_rows), table


def test_same_seed_same_rows(data) -> None:
    assert generate("small", 42) == data


def test_other_seed_other_rows(data) -> None:
    other = generate("small", 7)
    assert other["labor.job_postings"] != data["labor.job_postings"]
    assert other["commerce.enterprises"] != data["commerce.enterprises"]


def test_unknown_scale() -> None:
    with pytest.raises(ValueError):
        generate("huge", 42)


def test_ids_are_sequential(data) -> None:
    for table, columns in COLUMNS.items():
        if columns[0] == "id":
            assert [r[0] for r in data[table]] == list(range(1, len(data[table]) + 1)), table


def test_uscc_format_and_check_char(data) -> None:
    for e in rows(data, "commerce.enterprises"):
        u = e["uscc"]
        assert USCC.match(u) and uscc_check_char(u[:17]) == u[17], u
        assert u[0] == "9" and u[1] in "123" and u[2:8] == e["district_code"]
    usccs = col(data, "commerce.enterprises", "uscc")
    assert len(set(usccs)) == len(usccs)


def test_seekers_personal_fields(data) -> None:
    seekers = rows(data, "labor.job_seekers")
    for s in seekers:
        n = s["id_number"]
        assert ID_NUMBER.match(n) and id_number_check_char(n[:17]) == n[17], n
        assert n[:6] in GZ_DISTRICTS
        assert int(n[6:10]) == s["birth_year"] and 1940 <= s["birth_year"] <= 2015
        assert (int(n[16]) % 2 == 1) == (s["gender"] == "M")
        assert PHONE.match(s["phone"]), s["phone"]
        assert 2 <= len(s["name"]) <= 4
        assert s["registered_on"].year in (2022, 2023, 2024, 2025)
        assert s["left_on"] is None or s["registered_on"] <= s["left_on"]
    assert len({s["id_number"] for s in seekers}) == len(seekers)
    assert len({s["phone"] for s in seekers}) == len(seekers)
    nulls = sum(s["left_on"] is None for s in seekers) / len(seekers)
    assert 0.08 < nulls < 0.25


def test_code_formats(data) -> None:
    occupations = rows(data, "labor.occupations")
    assert all(OCCUPATION.match(o["code"]) and o["major_group"] == int(o["code"][0]) for o in occupations)
    assert len({o["code"] for o in occupations}) == len(occupations)
    for table, column in [("commerce.enterprises", "district_code"), ("labor.job_postings", "district_code"),
                          ("labor.job_seekers", "district_code"), ("labor.training_programs", "district_code"),
                          ("education.schools", "district_code"), ("commerce.parks", "district_code"),
                          ("science.innovation_platforms", "district_code")]:
        assert all(DISTRICT.match(d) and d in GZ_DISTRICTS for d in col(data, table, column)), table
    assert all(re.match(r"^[0-9]{10}$", c) for c in col(data, "education.schools", "code"))
    assert all(re.match(r"^[0-9]{6}$", c) for c in col(data, "education.majors", "code"))
    assert all(re.match(r"^SC[0-9]{10}$", c) for c in col(data, "labor.skill_certificates", "certificate_no"))
    assert all(re.match(r"^TP[0-9]{6}$", c) for c in col(data, "labor.training_programs", "code"))
    assert all(re.match(r"^IPF[0-9]{5}$", c) for c in col(data, "science.innovation_platforms", "code"))
    for table, column in [("labor.job_postings", "enterprise_uscc"), ("labor.training_programs", "provider_uscc"),
                          ("labor.apprenticeships", "enterprise_uscc"), ("science.research_projects",
                                                                         "lead_enterprise_uscc"),
                          ("science.tech_transfers", "buyer_uscc"), ("science.innovation_platforms", "host_uscc")]:
        assert all(u is None or (USCC.match(u) and uscc_check_char(u[:17]) == u[17])
                   for u in col(data, table, column)), table


def test_districts(data) -> None:
    d = data["hub.districts"]
    assert ("440100", "广州市", None) in d
    assert sorted(c for c, _, p in d if p == "440100") == sorted(GZ_DISTRICTS) and len(d) == 12


def test_industry_hierarchy(data) -> None:
    industries = rows(data, "commerce.industries")
    by_code = {i["code"]: i for i in industries}
    assert {i["level"] for i in industries} == {1, 2, 3, 4}
    for i in industries:
        if i["level"] == 1:
            assert re.match(r"^[A-T]$", i["code"]) and i["parent_code"] is None
        else:
            assert len(i["code"]) == i["level"] and i["parent_code"] in by_code
            parent = by_code[i["parent_code"]]
            assert parent["level"] == i["level"] - 1
            if i["level"] > 2:
                assert i["code"].startswith(parent["code"])
    assert all(by_code[c]["level"] == 4 for c in col(data, "commerce.enterprises", "industry_code"))


def test_cross_department_codes(data) -> None:
    usccs = set(col(data, "commerce.enterprises", "uscc"))
    occupations = set(col(data, "labor.occupations", "code"))
    industries = set(col(data, "commerce.industries", "code"))
    schools = set(col(data, "education.schools", "code"))
    majors = set(col(data, "education.majors", "code"))
    projects = set(col(data, "science.research_projects", "code"))
    parks = set(col(data, "commerce.parks", "code"))

    def within(table: str, column: str, allowed: set) -> None:
        values = [v for v in col(data, table, column) if v is not None]
        assert values and set(values) <= allowed, (table, column)

    within("labor.job_postings", "enterprise_uscc", usccs)
    within("labor.job_postings", "occupation_code", occupations)
    within("labor.job_seekers", "occupation_code", occupations)
    within("labor.training_programs", "occupation_code", occupations)
    within("labor.training_programs", "provider_uscc", usccs)
    within("labor.skill_certificates", "occupation_code", occupations)
    within("labor.apprenticeships", "enterprise_uscc", usccs)
    within("labor.apprenticeships", "school_code", schools)
    within("commerce.investment_projects", "enterprise_uscc", usccs)
    within("commerce.investment_projects", "park_code", parks)
    within("science.research_projects", "lead_enterprise_uscc", usccs)
    within("science.research_projects", "partner_school_code", schools)
    within("science.research_projects", "industry_code", industries)
    within("science.tech_transfers", "project_code", projects)
    within("science.tech_transfers", "buyer_uscc", usccs)
    within("science.innovation_platforms", "host_uscc", usccs)
    within("science.innovation_platforms", "host_school_code", schools)
    within("education.majors", "school_code", schools)
    within("education.major_industries", "industry_code", industries)
    within("education.major_occupations", "occupation_code", occupations)
    assert set(col(data, "education.major_industries", "major_code")) == majors
    assert set(col(data, "education.major_occupations", "major_code")) == majors
    seekers = len(data["labor.job_seekers"])
    assert all(1 <= s <= seekers for s in col(data, "labor.skill_certificates", "seeker_id"))
    assert all(1 <= m <= len(data["education.majors"]) for m in col(data, "education.major_outcomes", "major_id"))
    assert all(r["lead_enterprise_uscc"] or r["partner_school_code"] for r in rows(data, "science.research_projects"))
    assert all(r["host_uscc"] or r["host_school_code"] for r in rows(data, "science.innovation_platforms"))


def test_mapping_sizes(data) -> None:
    for table, lo, hi in (("education.major_industries", 1, 3), ("education.major_occupations", 1, 4)):
        per: dict[str, int] = {}
        for code, _ in data[table]:
            per[code] = per.get(code, 0) + 1
        assert all(lo <= n <= hi for n in per.values()), table
        assert len(set(data[table])) == len(data[table])


def test_posting_ranges(data) -> None:
    postings = rows(data, "labor.job_postings")
    for p in postings:
        assert p["headcount"] >= 1 and p["headcount"] <= 50
        assert 3_000 <= p["wage_min"] <= p["wage_max"] <= 30_000
        assert p["skill_level"] is None or 1 <= p["skill_level"] <= 5
        assert "2022-01-01" <= p["posted_on"].isoformat() <= "2025-12-31"
        if p["closes_on"] is not None:
            assert 14 <= (p["closes_on"] - p["posted_on"]).days <= 120
        assert p["title"]
    nulls = sum(p["closes_on"] is None for p in postings) / len(postings)
    assert 0.05 < nulls < 0.15
    months = [p["posted_on"].month for p in postings]
    assert months.count(3) > months.count(12) and months.count(9) > months.count(11)


def test_demand_is_skewed(data) -> None:
    per_occ: dict[str, int] = {}
    per_district: dict[str, int] = {}
    for p in rows(data, "labor.job_postings"):
        per_occ[p["occupation_code"]] = per_occ.get(p["occupation_code"], 0) + 1
        per_district[p["district_code"]] = per_district.get(p["district_code"], 0) + 1
    top = sorted(per_occ.values(), reverse=True)
    assert sum(top[:10]) > 0.3 * sum(top)
    d = sorted(per_district.values(), reverse=True)
    assert d[0] > 3 * d[-1]


def test_major_outcomes(data) -> None:
    outcomes = rows(data, "education.major_outcomes")
    by_major: dict[int, dict[int, tuple[int, int]]] = {}
    for o in outcomes:
        assert 0 <= o["employed"] <= o["graduates"] and o["enrollment"] >= 0
        by_major.setdefault(o["major_id"], {})[o["year"]] = (o["graduates"], o["employed"])
    assert len(by_major) == len(data["education.majors"])
    assert all(sorted(years) == [2022, 2023, 2024, 2025] for years in by_major.values())

    def below(g: int, e: int) -> bool:
        return g > 0 and e / g < 0.80

    yellow = [m for m, y in by_major.items() if below(*y[2024]) and below(*y[2025]) and not below(*y[2023])]
    red = [m for m, y in by_major.items() if below(*y[2023]) and below(*y[2024]) and below(*y[2025])]
    assert yellow and red
    assert any(g <= 2 for y in by_major.values() for g, _ in y.values())


def test_a_school_offers_5_to_12_majors(data) -> None:
    per: dict[str, int] = {}
    for m in rows(data, "education.majors"):
        per[m["school_code"]] = per.get(m["school_code"], 0) + 1
    assert set(per) == set(col(data, "education.schools", "code"))
    assert all(5 <= n <= 12 for n in per.values())
