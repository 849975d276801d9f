"""The published statistics against a small hand-made dataset (tests/support/stats_dataset.py): every expected figure
is worked out by hand and written here as a literal (docs/design.md, "Published figures")."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from typing import Any, Iterator

import asyncpg
import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.db.pools import Databases
from hub.settings import Settings, SettingsError
from resolvers.analytics.disclosure import LARGE, MAX_NOISE, load_ptable
from tests.support import stats_dataset as ds
from tests.support.database import recreate_database, with_database
from tests.support.stats_api import ROW, Api

A, B, C, D, E = (ds.OCC[k] for k in "ABCDE")


def figures(rows: list[dict[str, Any]], *keys: str) -> list[tuple]:
    return [tuple(r[k] for k in keys) for r in rows]


# --- job-to-applicant ratios --------------------------------------------------------------------------

def test_quarterly_totals(api: Api) -> None:
    rows = api.rows("labor", "year: 2024, groupBy: [QUARTER]")
    assert figures(rows, "quarter", "demand", "supply", "gap") == [(1, 36, 19, 17), (2, 36, 19, 17), (3, 42, 18, 24),
                                                                   (4, 18, 18, 0)]
    assert [r["ratio"] for r in rows] == pytest.approx([1.8947368421052632, 1.8947368421052632, 2.3333333333333335,
                                                        1.0])


def test_annual_figures_are_the_sums_of_the_quarters(api: Api) -> None:
    (row,) = api.rows("labor", "year: 2024")
    assert (row["quarter"], row["demand"], row["supply"], row["gap"]) == (None, 132, 74, 58)
    assert row["ratio"] == pytest.approx(1.7837837837837838)
    assert figures(api.rows("labor", "year: 2023, groupBy: [QUARTER]"), "quarter", "demand", "supply") == [
        (1, 6, 3), (2, 6, 3), (3, 6, 3), (4, 6, 4)]


def test_posting_spanning_two_quarters_and_closing_on_the_first_day_of_a_quarter(api: Api) -> None:
    # A: 15 in Q1; 20 posted 1 May closing 15 Jul (Q2 and Q3); 10 posted 1 Aug closing 1 Oct (Q3 and Q4).
    rows = api.rows("labor", f'year: 2024, occupationCode: "{A}", groupBy: [QUARTER]')
    assert figures(rows, "quarter", "demand", "supply", "ratio", "gap") == [
        (1, 15, 10, 1.5, 5), (2, 20, 10, 2.0, 10), (3, 30, 10, 3.0, 20), (4, 10, 10, 1.0, 0)]


def test_seeker_leaving_on_the_first_day_of_a_quarter_counts_in_it(api: Api) -> None:
    rows = api.rows("labor", f'year: 2024, occupationCode: "{B}", groupBy: [QUARTER]')
    assert figures(rows, "quarter", "demand", "supply", "ratio") == [(1, 8, 5, 1.6), (2, 8, 5, 1.6), (3, 4, 4, 1.0),
                                                                     (4, 0, 4, 0.0)]


def test_zero_supply_gives_a_null_ratio(api: Api) -> None:
    (row,) = api.rows("labor", f'year: 2024, occupationCode: "{D}"')
    assert (row["demand"], row["supply"], row["ratio"], row["gap"], row["suppressed"]) == (5, 0, None, 5, False)
    rows = api.rows("commerce", f'year: 2024, occupationCode: "{D}", groupBy: [QUARTER]')
    assert figures(rows, "quarter", "demand", "supply", "ratio", "suppressed") == [(1, 5, 0, None, False)]


def test_grouped_by_district_and_skill_level(api: Api) -> None:
    rows = api.rows("labor", "year: 2024, groupBy: [DISTRICT]")
    assert figures(rows, "districtCode", "demand", "supply", "gap") == [("440104", 45, 34, 11), ("440106", 87, 40, 47)]
    assert [r["ratio"] for r in rows] == pytest.approx([1.3235294117647058, 2.175])
    rows = api.rows("labor", "year: 2024, groupBy: [SKILL_LEVEL]")
    assert figures(rows, "skillLevel", "demand", "supply", "ratio", "gap") == [
        (2, 5, 0, None, 5), (3, 15, 20, 0.75, -5), (4, 84, 50, 1.68, 34), (5, 8, 4, 2.0, 4), (None, 20, 0, None, 20)]
    rows = api.rows("labor", f'year: 2024, occupationCode: "{A}", groupBy: [SKILL_LEVEL]')
    assert figures(rows, "skillLevel", "demand", "supply", "ratio", "gap") == [
        (3, 15, 20, 0.75, -5), (4, 40, 20, 2.0, 20), (None, 20, 0, None, 20)]


def test_grouped_by_industry_section_has_demand_only(api: Api) -> None:
    rows = api.rows("labor", "year: 2024, groupBy: [INDUSTRY_SECTION]")
    assert figures(rows, "industrySection", "industrySectionName", "demand", "supply", "ratio", "gap") == [
        ("C", "制造业", 87, None, None, None), ("I", "信息传输、软件和信息技术服务业", 45, None, None, None)]


def test_fine_groupings_are_summed_consistently(api: Api) -> None:
    # Occupation + district + quarter is summed from the finest rows at query time.
    rows = api.rows("labor", f'year: 2024, occupationCode: "{A}", district: "440104", groupBy: [QUARTER]')
    assert figures(rows, "quarter", "demand", "supply", "ratio", "gap") == [
        (1, 0, 4, 0.0, -4), (2, 0, 4, 0.0, -4), (3, 10, 4, 2.5, 6), (4, 10, 4, 2.5, 6)]
    fine = api.rows("labor", "year: 2024, groupBy: [OCCUPATION, DISTRICT, QUARTER]")
    for quarter, demand, supply in [(1, 36, 19), (2, 36, 19), (3, 42, 18), (4, 18, 18)]:
        assert sum(r["demand"] for r in fine if r["quarter"] == quarter) == demand
        assert sum(r["supply"] for r in fine if r["quarter"] == quarter) == supply
    by_section = api.rows("labor", "year: 2024, groupBy: [OCCUPATION, DISTRICT, INDUSTRY_SECTION]")
    assert sum(r["demand"] for r in by_section if r["industrySection"] == "C") == 87


def test_order_and_pages(api: Api) -> None:
    rows = api.rows("labor", "year: 2024, groupBy: [OCCUPATION], orderBy: GAP_DESC")
    assert figures(rows, "occupationCode", "gap") == [(A, 35), (E, 12), (D, 5), (C, 4), (B, 2)]
    # commerce does not own the seekers: the order is by the gaps it is shown (from the perturbed supply)
    rows = api.rows("commerce", "year: 2024, groupBy: [OCCUPATION], orderBy: GAP_DESC")
    assert figures(rows, "occupationCode", "gap") == [(A, 34), (E, 13), (D, 5), (C, 4), (B, 1)]
    shown = {r["occupationCode"]: r["gap"] for r in api.rows("commerce", "year: 2024, groupBy: [OCCUPATION]")}
    assert dict(figures(rows, "occupationCode", "gap")) == shown
    rows = api.rows("commerce", "year: 2024, groupBy: [OCCUPATION], orderBy: DEMAND_DESC")
    assert figures(rows, "occupationCode", "demand") == [(A, 75), (E, 24), (B, 20), (C, 8), (D, 5)]
    rows = api.rows("labor", "year: 2024, groupBy: [OCCUPATION], orderBy: RATIO_DESC")
    assert figures(rows, "occupationCode", "ratio") == [(C, 2.0), (E, 2.0), (A, 1.875), (B, 20 / 18), (D, None)]
    q = "query($after: String) { supplyDemand(year: 2024, groupBy: [OCCUPATION], first: 2, after: $after) " \
        "{ nodes { occupationCode } pageInfo { hasNextPage endCursor } } }"
    seen, after = [], None
    for _ in range(3):
        page = api("labor", q, {"after": after})["supplyDemand"]
        seen += [n["occupationCode"] for n in page["nodes"]]
        after = page["pageInfo"]["endCursor"]
    assert seen == [D, C, E, A, B] and not page["pageInfo"]["hasNextPage"]


@pytest.mark.parametrize("args, argument", [("year: 1999", "year"), ("year: 2024, quarter: 5", "quarter"),
                                            ("year: 2024, skillLevel: 0", "skillLevel"),
                                            ("year: 2024, first: 100000", "first")])
def test_bad_arguments_are_bad_user_input(api: Api, args: str, argument: str) -> None:
    body = api.raw("labor", f"{{ supplyDemand({args}) {{ nodes {{ demand }} }} }}")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["argument"] == argument


# --- small cells -------------------------------------------------------------------------------------------

def test_person_counts_are_perturbed_for_readers_that_do_not_own_the_seekers(api: Api) -> None:
    # C: one seeker, counted in four quarters (annual supply 4 from 1 person): shown as 4 (the ptable's value at
    # its key: 3..6), its quarters as 3 or 0.
    for who in ("commerce", "education", "admin"):
        rows = {r["occupationCode"]: r for r in api.rows(who, "year: 2024, groupBy: [OCCUPATION]")}
        c = rows[C]
        assert (c["demand"], c["supply"], c["ratio"], c["gap"], c["suppressed"], c["perturbed"]) == (
            8, 4, 2.0, 4, False, True)
        assert (rows[B]["supply"], rows[A]["supply"], rows[D]["supply"]) == (19, 41, 0)  # exact 18, 40, 0
    rows = {r["occupationCode"]: r for r in api.rows("labor", "year: 2024, groupBy: [OCCUPATION]")}
    assert (rows[C]["supply"], rows[C]["ratio"], rows[C]["gap"], rows[C]["perturbed"]) == (4, 2.0, 4, False)
    quarters = api.rows("commerce", f'year: 2024, occupationCode: "{C}", groupBy: [QUARTER]')
    assert figures(quarters, "demand", "supply", "gap") == [(2, 3, -1), (2, 0, 2), (2, 0, 2), (2, 3, -1)]
    # the same persons give the same value whatever the grouping or filter: C's seeker is the only one of C in
    # Tianhe and at skill level 5
    for args in (f'occupationCode: "{C}"', f'occupationCode: "{C}", district: "{ds.TIANHE}"',
                 f'occupationCode: "{C}", district: "{ds.TIANHE}", skillLevel: 5', "skillLevel: 5"):
        (row,) = api.rows("commerce", f"year: 2024, {args}")
        assert row["supply"] == 4, args


@pytest.mark.parametrize("args", ["groupBy: [OCCUPATION, DISTRICT, SKILL_LEVEL, QUARTER]",
                                  "groupBy: [OCCUPATION, DISTRICT, SKILL_LEVEL]", "groupBy: [DISTRICT, QUARTER]",
                                  "groupBy: [SKILL_LEVEL]", "groupBy: [QUARTER]"])
def test_perturbed_counts_stay_within_the_noise_and_are_never_1_or_2(api: Api, args: str) -> None:
    for year in (2023, 2024):
        key = ("occupationCode", "districtCode", "skillLevel", "quarter")
        shown = {tuple(r[k] for k in key): r for r in api.rows("commerce", f"year: {year}, {args}")}
        for e in api.rows("labor", f"year: {year}, {args}"):
            p = shown.get(tuple(e[k] for k in key))
            if p is None:  # no row without demand whose supply is shown as 0 (its existence would tell)
                assert e["demand"] == 0 and e["supply"] <= 2
                continue
            assert p["demand"] == e["demand"]
            assert abs(p["supply"] - e["supply"]) <= 2 and p["supply"] not in (1, 2)
            assert e["supply"] != 0 or p["supply"] == 0
            assert p["gap"] == p["demand"] - p["supply"]
            assert p["ratio"] == (pytest.approx(p["demand"] / p["supply"]) if p["supply"] else None)


def test_perturbation_is_the_ptable_at_the_cell_key(stats_settings) -> None:
    """An independent recomputation of two cells of C's only seeker (Tianhe, skill level 5, all of 2024): the keys
    of its finest cells (md5 of the secret, year, quarter, occupation, district and level), the cell key of its
    occupation's first quarter (that one finest cell's) and of its year (the sum of its 4 quarters'), looked up in
    the ptable."""
    settings, _ = stats_settings
    keys = [int(hashlib.md5(f"{ds.CELL_KEY_SECRET}:2024:{q}:{C}:{ds.TIANHE}:5".encode()).hexdigest()[:8], 16)
            for q in range(1, 5)]

    async def go() -> tuple[int, int, int, int]:
        conn = await asyncpg.connect(settings.database_url)
        try:
            bucket = lambda k: (k % 2**32) * 100 // 2**32  # noqa: E731
            quarter = 1 + await conn.fetchval("select hub.stat_cell_shift(1, $1)", bucket(keys[0]))
            year = 4 + await conn.fetchval("select hub.stat_cell_shift(4, $1)", bucket(sum(keys)))
            stored = await conn.fetch("select dims, public_supply from hub.stat_supply_demand where year = 2024 "
                                      "and occupation_code = $1 and dims in (1, 17) order by dims, quarter", C)
            return quarter, year, stored[1]["public_supply"], stored[0]["public_supply"]
        finally:
            await conn.close()

    quarter, year, stored_quarter, stored_year = asyncio.run(go())
    assert (stored_quarter, stored_year) == (quarter, year) == (3, 4)


def test_the_ptable(stats_settings) -> None:
    settings, _ = stats_settings

    async def go():
        db = await Databases(settings, settings.database_url).open()
        try:
            return await load_ptable(db.hub)
        finally:
            await db.close()

    table = asyncio.run(go())
    assert table.outputs(0) == {0} and table.outputs(1) == {0, 3} and table.outputs(2) == {0, 3, 4}
    for n in range(0, 40):
        assert not table.outputs(n) & {1, 2}
        assert all(abs(o - n) <= MAX_NOISE for o in table.outputs(n))
    assert sorted(table.shifts[LARGE]).count(0) == 40  # from 5 on: -2..+2 with .1 .2 .4 .2 .1
    assert table.candidates(0) == (0, 2) and table.candidates(3) == (1, 5) and table.candidates(10) == (8, 12)


# --- shortage occupations and the training catalog -----------------------------------------------------------

SHORTAGE = """query($year: Int!) { shortageOccupations(year: $year) { rank previousRank occupationCode occupationName
  quartersMet demand supply ratio gap suppressed quarters { quarter demand supply ratio met suppressed }
  districts { districtCode districtName demand supply gap } } }"""


def test_shortage_occupations(api: Api) -> None:
    """The list is the public one for every reader (computed from the perturbed supply: A's quarterly supply 10 is
    shown as 9, 12, 10, 12, so its ratios are 1.67, 1.67, 3.0, 0.83); labor, the owner, sees exact figures beside
    it."""
    a, e = api("labor", SHORTAGE, {"year": 2024})["shortageOccupations"]
    assert (a["rank"], a["previousRank"], a["occupationCode"], a["occupationName"], a["quartersMet"]) == (
        1, None, A, "计算机整机装配调试员", 3)
    assert figures(a["quarters"], "quarter", "ratio", "met") == [(1, 1.5, True), (2, 2.0, True), (3, 3.0, True),
                                                                 (4, 1.0, False)]
    assert (a["demand"], a["supply"], a["gap"], a["ratio"]) == (75, 40, 35, 1.875)
    assert figures(a["districts"], "districtCode", "districtName", "demand", "supply", "gap") == [
        ("440106", "天河区", 55, 24, 31), ("440104", "越秀区", 20, 16, 4)]
    assert (e["rank"], e["previousRank"], e["occupationCode"], e["quartersMet"], e["demand"], e["supply"],
            e["gap"]) == (2, 1, E, 4, 24, 12, 12)
    assert figures(e["districts"], "districtCode", "gap") == [("440106", 12)]
    # B reaches 1.5 in 2 quarters only; C in none as shown (exact: all 4, but its annual demand is 8); D has no
    # seekers.
    (e2023,) = api("labor", SHORTAGE, {"year": 2023})["shortageOccupations"]
    assert (e2023["rank"], e2023["previousRank"], e2023["occupationCode"]) == (1, None, E)


def test_owners_see_exact_figures_beside_the_public_list(api: Api) -> None:
    by_labor = api("labor", SHORTAGE, {"year": 2024})["shortageOccupations"]
    by_commerce = api("commerce", SHORTAGE, {"year": 2024})["shortageOccupations"]
    assert [(s["occupationCode"], s["rank"], s["quartersMet"]) for s in by_labor] == [
        (s["occupationCode"], s["rank"], s["quartersMet"]) for s in by_commerce] == [(A, 1, 3), (E, 2, 4)]
    a, e = by_commerce
    assert (a["demand"], a["supply"], a["gap"], a["ratio"]) == (75, 41, 34, 75 / 41)  # exact: 40, 35
    assert figures(a["quarters"], "quarter", "supply", "met") == [(1, 9, True), (2, 12, True), (3, 10, True),
                                                                  (4, 12, False)]
    # E: 6 / 3 = 2.0 in every quarter; shown 6 / 4 = 1.5 in Q2, still met
    assert figures(e["quarters"], "quarter", "supply", "ratio", "met") == [(1, 3, 2.0, True), (2, 4, 1.5, True),
                                                                           (3, 3, 2.0, True), (4, 3, 2.0, True)]
    assert figures(by_labor[1]["quarters"], "quarter", "supply", "ratio", "met") == [
        (q, 3, 2.0, True) for q in (1, 2, 3, 4)]
    for s in by_commerce:  # met is the shown ratio against the threshold
        assert [q["met"] for q in s["quarters"]] == [q["demand"] >= 1.5 * q["supply"] > 0 for q in s["quarters"]]
    assert figures(a["districts"], "districtCode", "supply", "gap") == [("440106", 22, 33), ("440104", 17, 3)]


def test_shortage_limit(api: Api) -> None:
    data = api("labor", "{ shortageOccupations(year: 2024, limit: 1, districts: 0) { occupationCode districts "
                        "{ districtCode } } }")
    assert data["shortageOccupations"] == [{"occupationCode": A, "districts": []}]


@pytest.mark.parametrize("env, expected", [
    ({}, [A, E]),
    ({"HUB_STATS_SHORTAGE_QUARTERS": "2"}, [A, E, B]),
    # C: 2 / 3 in Q1 and Q4, no seeker shown in Q2 and Q3 (exact: one seeker, 2.0 in every quarter)
    ({"HUB_STATS_SHORTAGE_QUARTERS": "2", "HUB_STATS_SHORTAGE_MIN_DEMAND": "5"}, [A, E, B]),
    # A's shown ratios are 1.67, 1.67, 3.0, 0.83: 1 quarter; E's shown supply is 4 in Q2 (6 / 4 = 1.5), 3 in the
    # others (6 / 3 = 2.0 exactly, which counts): 3 quarters (exact: 2.0 in all four)
    ({"HUB_STATS_SHORTAGE_RATIO": "2.0"}, [E]),
    ({"HUB_STATS_SHORTAGE_QUARTERS": "2", "HUB_STATS_SHORTAGE_RATIO": "2.0"}, [E]),  # B: 2.0 in Q1 only
    ({"HUB_STATS_SHORTAGE_RATIO": "1.51"}, [A, E]),  # E loses Q2 (1.5), keeps 3
    ({"HUB_STATS_SHORTAGE_RATIO": "1.67"}, [E]),  # A's 20 / 12 = 1.667 no longer counts: 1 quarter
])
def test_shortage_thresholds_are_settings(stats_settings, env: dict[str, str], expected: list[str]) -> None:
    settings, tokens = stats_settings
    changed = Settings.from_env({"HUB_ENV": "test", **env})
    settings = replace(settings, stats_shortage_quarters=changed.stats_shortage_quarters,
                       stats_shortage_ratio=changed.stats_shortage_ratio,
                       stats_shortage_min_demand=changed.stats_shortage_min_demand)
    with TestClient(create_app(settings)) as client:
        data = Api(client, tokens)("labor", "{ shortageOccupations(year: 2024) { occupationCode } }")
    assert [s["occupationCode"] for s in data["shortageOccupations"]] == expected


def test_training_catalog(api: Api) -> None:
    q = "query($y: Int!) { trainingCatalog(year: $y) { occupationCode programs seats providers shortage } }"
    rows = api("commerce", q, {"y": 2024})["trainingCatalog"]
    assert [(r["occupationCode"], r["programs"], r["seats"], set(r["providers"]), r["shortage"]) for r in rows] == [
        (D, 1, 10, {"甲培训学校"}, False), (A, 2, 50, {"甲培训学校", "乙职业技能培训中心"}, True)]
    rows = api("commerce", q, {"y": 2023})["trainingCatalog"]
    assert [(r["occupationCode"], r["programs"], r["seats"], r["shortage"]) for r in rows] == [
        (A, 1, 20, False), (B, 1, 15, False)]


# --- majors ----------------------------------------------------------------------------------------------------

MATCH = """query($d: String) { majorIndustryMatch(year: 2024, district: $d) { majorCode industries { code }
  graduates totalGraduates graduatesShare demand totalDemand demandShare index status suppressed perturbed } }"""


def test_major_industry_match_for_the_city(api: Api) -> None:
    rows = api("education", MATCH)["majorIndustryMatch"]
    got = [(r["majorCode"], [i["code"] for i in r["industries"]], r["graduates"], r["totalGraduates"], r["demand"],
            r["totalDemand"], r["status"]) for r in rows]
    assert got == [
        ("460104", ["39"], 90, 200, 87, 132, "BALANCED"),           # a division: its class 3911
        ("510201", ["3911", "6511"], 5, 200, 132, 132, "UNDERSUPPLIED"),  # two industries
        ("510202", ["6511"], 104, 200, 45, 132, "OVERSUPPLIED"),
        ("570101", [], 1, 200, 0, 132, None),                      # no industry: no index
    ]
    assert [r["graduatesShare"] for r in rows] == pytest.approx([0.45, 0.025, 0.52, 0.005])
    assert [r["demandShare"] for r in rows] == pytest.approx([0.6590909090909091, 1.0, 0.3409090909090909, 0.0])
    assert [r["index"] for r in rows[:3]] == pytest.approx([0.6827586206896552, 0.025, 1.5253333333333334])
    assert rows[3]["index"] is None


def test_major_industry_match_per_district(api: Api) -> None:
    rows = api("education", MATCH, {"d": "440104"})["majorIndustryMatch"]
    assert [(r["majorCode"], r["graduates"], r["totalGraduates"], r["demand"], r["totalDemand"], r["status"])
            for r in rows] == [("510202", 104, 105, 45, 45, "BALANCED"), ("570101", 1, 105, 0, 45, None)]
    assert rows[0]["index"] == pytest.approx(0.9904761904761905)
    rows = api("education", MATCH, {"d": "440106"})["majorIndustryMatch"]
    assert [(r["majorCode"], r["status"]) for r in rows] == [("460104", "BALANCED"), ("510201", "UNDERSUPPLIED")]
    assert [r["index"] for r in rows] == pytest.approx([0.9473684210526315, 0.05263157894736842])


def test_match_graduates_are_perturbed_for_readers_that_do_not_own_them(api: Api) -> None:
    exact = {r["majorCode"]: r for r in api("education", MATCH)["majorIndustryMatch"]}
    rows = {r["majorCode"]: r for r in api("labor", MATCH)["majorIndustryMatch"]}
    assert set(rows) == set(exact)
    w = rows["570101"]  # 1 graduate: shown as 0
    assert (w["graduates"], w["graduatesShare"], w["index"], w["status"], w["perturbed"], w["suppressed"]) == (
        0, 0.0, None, None, True, False)
    total = w["totalGraduates"]
    assert abs(total - 200) <= 2 and total != 200  # perturbed from its own records, not the sum of the majors
    for code, r in rows.items():
        assert abs(r["graduates"] - exact[code]["graduates"]) <= 2 and r["graduates"] not in (1, 2)
        assert r["graduatesShare"] == pytest.approx(r["graduates"] / total)
        assert (r["demand"], r["totalDemand"], r["demandShare"]) == (
            exact[code]["demand"], exact[code]["totalDemand"], exact[code]["demandShare"])
        assert r["totalGraduates"] == total
    assert (rows["510202"]["graduates"], rows["510202"]["status"]) == (102, "OVERSUPPLIED")


WARNINGS = """query($y: Int!) { majorWarnings(year: $y) { majorCode schoolCode consecutiveYearsBelow level action
  suppressed perturbed years { year graduates employed employmentRate belowThreshold suppressed } } }"""


def test_major_warnings(api: Api) -> None:
    rows = api("education", WARNINGS, {"y": 2024})["majorWarnings"]
    assert [(r["majorCode"], r["schoolCode"], r["consecutiveYearsBelow"], r["level"], r["action"]) for r in rows] == [
        ("460104", ds.S1, 3, "RED", "STOP_ENROLLMENT"),
        ("510202", ds.S2, 2, "YELLOW", "REDUCE_ENROLLMENT"),
        ("570101", ds.S2, 2, "YELLOW", "REDUCE_ENROLLMENT"),
    ]  # 510201 was below in 2024 only (2023 was exactly 0.80, not below); V and U have no 2024 outcome
    assert [(y["year"], y["belowThreshold"]) for y in rows[0]["years"]] == [(2022, True), (2023, True), (2024, True)]
    assert [y["employmentRate"] for y in rows[0]["years"]] == pytest.approx([0.75, 0.7875, 0.7777777777777778])
    assert [(y["year"], y["graduates"], y["employed"], y["belowThreshold"]) for y in rows[1]["years"]] == [
        (2022, 100, 90, False), (2023, 100, 70, True), (2024, 104, 78, True)]
    rows = api("education", WARNINGS, {"y": 2023})["majorWarnings"]
    assert [(r["majorCode"], r["consecutiveYearsBelow"], r["level"]) for r in rows] == [
        ("730701", 4, "RED"), ("460104", 2, "YELLOW"), ("730702", 2, "YELLOW")]


def _run(years: list[dict[str, Any]], year: int, threshold: float = 0.8) -> int:
    """The run of consecutive years up to ``year`` below the threshold, from the figures shown."""
    shown = {y["year"]: y for y in years}
    run = 0
    while year - run in shown and shown[year - run]["graduates"] and \
            shown[year - run]["employed"] < threshold * shown[year - run]["graduates"]:
        run += 1
    return run


def test_warnings_of_readers_that_do_not_own_the_graduates_rest_on_the_figures_shown(api: Api) -> None:
    for year in (2022, 2023, 2024):
        rows = api("commerce", WARNINGS, {"y": year})["majorWarnings"]
        for w in rows:
            assert w["perturbed"] and not w["suppressed"]
            assert all(y["graduates"] not in (1, 2) and y["employed"] not in (1, 2) for y in w["years"])
            assert all(y["employed"] <= y["graduates"] for y in w["years"])
            assert w["consecutiveYearsBelow"] == _run(w["years"], year)
            assert w["level"] == ("YELLOW" if w["consecutiveYearsBelow"] == 2 else "RED")
    rows = {r["majorCode"]: r for r in api("commerce", WARNINGS, {"y": 2023})["majorWarnings"]}
    assert "570101" not in rows  # its 2024 graduate is shown as 0 graduates (a year without graduates breaks a run)


def test_a_warning_never_rests_on_a_small_year_of_exact_figures(api: Api) -> None:
    """Issue 13: a run including a year of 2 graduates (1 employed) gave the exact warning to every reader, which
    told them the withheld rate was below the threshold. Now a non-owner's warning is computed from the figures it
    is shown (V's 2022 is shown as 3 graduates, 0 employed), the owner's from the exact ones."""
    v, u = ds.MAJOR["V"], ds.MAJOR["U"]
    query = "query($y: Int!) { majorWarnings(year: $y) { majorCode consecutiveYearsBelow level } }"
    for year in (2022, 2023):  # the small year inside the run, and as its latest year
        shown = api("commerce", WARNINGS, {"y": year})["majorWarnings"]
        exact = {r["majorCode"]: r for r in api("education", query, {"y": year})["majorWarnings"]}
        assert exact[v]["consecutiveYearsBelow"] == {2022: 3, 2023: 4}[year]
        for w in shown:
            small = [y for y in w["years"] if y["year"] == 2022 and w["majorCode"] == v]
            assert all((y["graduates"], y["employed"]) == (3, 0) for y in small)
            assert w["consecutiveYearsBelow"] == _run(w["years"], year)
    assert (exact[u]["consecutiveYearsBelow"], exact[u]["level"]) == (2, "YELLOW")


def test_warning_threshold_is_a_setting(stats_settings) -> None:
    settings, tokens = stats_settings
    with TestClient(create_app(replace(settings, stats_employment_threshold=0.7))) as client:
        rows = Api(client, tokens)("education", WARNINGS, {"y": 2024})["majorWarnings"]
    assert [(r["majorCode"], r["level"]) for r in rows] == [("570101", "YELLOW")]  # only 0/1 stays below 0.7


# --- refresh ------------------------------------------------------------------------------------------------

def test_refresh_records_its_watermark(api: Api) -> None:
    data = api("admin", "{ statisticsRefresh { id refreshedAt watermark } }")["statisticsRefresh"]
    sources = data["watermark"]["sources"]
    assert sources["labor"]["horizonYear"] == 2024
    assert sources["labor"]["tables"]["labor.job_postings"] == {"rows": 9, "maxId": 9}
    assert sources["labor"]["tables"]["labor.job_seekers"]["rows"] == 19  # A 10, B 5, C 1, E 3
    assert sources["commerce"]["tables"]["commerce.enterprises"]["rows"] == 2
    assert sources["education"]["tables"]["education.major_outcomes"]["rows"] == 18
    assert all(int(s["snapshotXmin"]) > 0 for s in sources.values())


def test_only_owners_and_admins_see_source_row_counts(api: Api) -> None:
    """Row counts and max ids move by one when one person is added: with two refreshes, a department that does not
    own the seekers would know exactly how many were added (the first step of differencing two releases). It sees
    none of another department's; its own, yes; admins see all; the report's JSON (the public view) none."""
    def sources(who: str) -> dict[str, Any]:
        return api(who, "{ statisticsRefresh { watermark } }")["statisticsRefresh"]["watermark"]["sources"]

    full = sources("admin")
    assert set(full) == {"labor", "commerce", "education"} and all("tables" in s for s in full.values())
    for who in ("commerce", "science", "labor", "education"):
        seen = sources(who)
        for department, source in seen.items():
            if department == who:
                assert source == full[department]
            else:
                assert source == ({"horizonYear": 2024} if department == "labor" else {}), (who, department)
    public = api.client.get("/reports/2024.json", headers={"Authorization": f"Bearer {api.tokens['admin']}"})
    assert public.json()["watermark"]["sources"] == {"labor": {"horizonYear": 2024}, "commerce": {}, "education": {}}


def test_departments_in_separate_databases_give_the_same_figures(server_url: str, api: Api) -> None:
    """Labor (with the hub's own schema) in one database, commerce and education in another: the refresh
    reads each department through its own pool, so every figure is the same."""
    labor_url = with_database(server_url, "hub_test_stats_labor")
    other_url = with_database(server_url, "hub_test_stats_other")
    for name in ("hub_test_stats_labor", "hub_test_stats_other"):
        asyncio.run(recreate_database(server_url, name))
    settings = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=labor_url, policy_cache_seconds=0.0,
                       department_urls={"commerce": other_url, "education": other_url, "science": other_url})
    tokens = asyncio.run(ds.prepare(settings, {"hub": labor_url, "labor": labor_url, "commerce": other_url,
                                          "education": other_url}))
    queries = [("labor", "{ supplyDemand(year: 2024, groupBy: [INDUSTRY_SECTION, QUARTER], first: 100) "
                         "{ nodes { industrySection quarter demand } } }", {}),
               ("commerce", "{ supplyDemand(year: 2024, groupBy: [OCCUPATION, SKILL_LEVEL], first: 100) "
                            "{ nodes { occupationCode skillLevel demand supply suppressed } } }", {}),
               ("labor", SHORTAGE, {"year": 2024}),
               ("education", MATCH, {"d": None}),
               ("education", MATCH, {"d": "440106"}),
               ("commerce", WARNINGS, {"y": 2024}),
               ("labor", "{ trainingCatalog(year: 2024) { occupationCode seats shortage } }", {})]
    with TestClient(create_app(settings)) as client:
        split = Api(client, tokens)
        assert client.app.state.db.pools["labor"] is not client.app.state.db.pools["commerce"]
        for who, q, variables in queries:
            assert split(who, q, variables) == api(who, q, variables)


@pytest.mark.parametrize("env, message", [
    ({"HUB_STATS_SHORTAGE_QUARTERS": "5"}, "1 to 4"), ({"HUB_STATS_SHORTAGE_QUARTERS": "0"}, ">= 1"),
    ({"HUB_STATS_MATCH_UNDERSUPPLIED": "2"}, "must not exceed"), ({"HUB_STATS_EMPLOYMENT_THRESHOLD": "1.5"}, "rate"),
    ({"HUB_STATS_SHORTAGE_RATIO": "lots"}, "must be a number")])
def test_statistics_settings_are_checked(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)
