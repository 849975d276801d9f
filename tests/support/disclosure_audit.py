"""Differencing audit of the published statistics (issue 13): what can one reader that owns no seekers or
graduates learn about a person count from EVERYTHING it can obtain?

The reader's knowledge is modelled as an integer interval per published count (``resolvers.analytics.intervals.Intervals``): a
perturbed count ``p`` means the exact count is one of ``Ptable.candidates(p)`` (the ptable is public knowledge:
the worst case); an exact count is a point; a withheld count (the earlier small-cell rule: null, suppressed) is
1..2 persons; a cell the reader gets no row for is 0..2 (the cell-key method) or 0 (the earlier rule returned a
row for every cell with seekers). Counts add up: every grouping of ``supplyDemand`` is the sum of its finer
groupings along any dimension (a year of its four quarters, the city of its districts, ...), a district's and
the city's graduates are the sums of their majors', a district major's graduates the sum of its schools' (the
warnings show those per school, major and year), and the employed are at most the graduates. The intervals are
propagated through every such sum, as a reader doing row and column arithmetic (23 - 21 = 2) would, until nothing
changes; every count of 1 or 2 persons whose interval is then a single value is disclosed.

What the audit adds to ``resolvers.analytics.disclosure`` (whose model the refresh uses to protect the figures): the facts are
collected through the GraphQL API as the reader gets them, the exact counts come straight from the summary tables,
and every exact count must lie in its interval (the model is sound). The shortage list, the training catalog's
flags, the ratios, gaps, shares, indexes, statuses and the warnings' levels are functions of the same published
counts (and exact demand), and the report's JSON and CSV carry the same values as the GraphQL fields
(tests/statistics/test_reports.py checks that), so they add nothing to the intervals.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Hashable

from hub.db.pools import Databases
from resolvers.analytics.intervals import Intervals
import asyncio
from typing import Any
import asyncpg
from starlette.testclient import TestClient
from resolvers.analytics import disclosure
from resolvers.analytics.disclosure import load_ptable
from typing import Any

INF = math.inf
Interpret = Callable[[Any, bool], tuple[float, float]]  # (shown value, withheld) -> interval of the exact count


def disclosed(model: Intervals, truth: dict[Hashable, tuple[int, int]]) -> list[tuple[Hashable, int, int]]:
    """(key, count, persons) of every count of 1 or 2 persons the reader can determine exactly; checks that the
    model is sound (every exact count lies in its interval)."""
    found = []
    for key, (count, persons) in truth.items():
        lo, hi = model.bounds(key) if key in model.index else (0, INF)
        assert lo <= count <= hi, f"unsound audit: {key} is {count}, outside [{lo}, {hi}]"
        if 1 <= persons <= 2 and lo == hi:
            found.append((key, count, persons))
    return found


# --- graduates ----------------------------------------------------------------------------------------------

def add_graduates(audit: Intervals, year: int, offerings: list[tuple[str, str, str]],
                  match_by_district: dict[str | None, list[dict[str, Any]]], interpret: Interpret) -> None:
    """Facts and sums of one year's major-industry match (per district and city-wide). ``offerings``: (school,
    major, district) of every school major with an outcome that year (public structure: schools and majors)."""
    for s, m, d in offerings:
        audit.var(("grad", year, s, m))
    for district, rows in match_by_district.items():
        total = ("total", year, district)
        for r in rows:
            audit.know(("major", year, district, r["majorCode"]), *interpret(r["graduates"], r["suppressed"], True))
            audit.know(total, *interpret(r["totalGraduates"], r["totalGraduates"] is None, True))
        audit.var(total)
        audit.add_sum(total, [("major", year, district, r["majorCode"]) for r in rows])
    districts = sorted(d for d in match_by_district if d is not None)
    majors = sorted({m for _, m, _ in offerings})
    for m in majors:
        audit.var(("major", year, None, m))
        parts = [("major", year, d, m) for d in districts if any(o[1] == m and o[2] == d for o in offerings)]
        for p in parts:
            audit.var(p)
        audit.add_sum(("major", year, None, m), parts)
        for d in districts:
            schools = [("grad", year, s, m) for s, mm, dd in offerings if mm == m and dd == d]
            if schools:
                audit.add_sum(("major", year, d, m), schools)
    audit.add_sum(("total", year, None), [("total", year, d) for d in districts])


def add_warnings(audit: Intervals, warnings: list[dict[str, Any]], interpret: Interpret) -> None:
    """Every year a warning shows: that school major's graduates and employed (employed <= graduates)."""
    for w in warnings:
        for y in w["years"]:
            g, e = ("grad", y["year"], w["schoolCode"], w["majorCode"]), ("empl", y["year"], w["schoolCode"],
                                                                          w["majorCode"])
            audit.know(g, *interpret(y["graduates"], y["suppressed"], True))
            lo, hi = (0, 2) if y["suppressed"] else interpret(y["employed"], False, True)  # withheld: 0..graduates
            if y["employed"] is not None and y["employed"] == y["graduates"] and w.get("perturbed", False):
                hi = INF  # employed is shown at most graduates: a clipped value only bounds it from below
            audit.know(e, lo, hi)
            audit.add_at_most(e, g)


# --- teachers (issue 16) --------------------------------------------------------------------------------------

def add_teachers(audit: Intervals, year: int, teachers: dict[str, Any], interpret: Interpret) -> None:
    """Facts and sums of one year's teacher counts of the plan's dual-qualified share (``planIndicators``): the city's
    specialty teachers and dual-qualified are the sums of the schools' shown beside them (a school without a row has
    none), the dual-qualified are at most the teachers."""
    city, city_dual = ("teach", year, None), ("tdual", year, None)
    schools = teachers["schools"]
    for key, dual_key, row in ((city, city_dual, teachers), *((("teach", year, s["schoolCode"]),
                                                               ("tdual", year, s["schoolCode"]), s) for s in schools)):
        audit.know(key, *interpret(row["specialtyTeachers"], row.get("suppressed", False), True))
        lo, hi = interpret(row["dualQualified"], row.get("dualSuppressed", False), True)
        if row["perturbed"] and row["dualQualified"] is not None and row["dualQualified"] == row["specialtyTeachers"]:
            hi = INF  # shown at most the teachers: a clipped value only bounds it from below
        audit.know(dual_key, lo, hi)
        audit.add_at_most(dual_key, key)
    audit.add_sum(city, [("teach", year, s["schoolCode"]) for s in schools])
    audit.add_sum(city_dual, [("tdual", year, s["schoolCode"]) for s in schools])


# --- how a shown value is read --------------------------------------------------------------------------------

def perturbed_reading(ptable: Any) -> Interpret:
    """The cell-key method: a shown count is any exact count the ptable can show as it."""
    def interpret(value: Any, withheld: bool, quarterly: bool) -> tuple[float, float]:
        if value is None:
            return (0, INF)
        return ptable.candidates(value)
    return interpret


def suppression_reading(value: Any, withheld: bool, quarterly: bool) -> tuple[float, float]:
    """The earlier small-cell rule: exact, or withheld for 1 or 2 persons (an annual supply counts up to 4
    quarters per person)."""
    if withheld:
        return (1, 2) if quarterly else (1, 8)
    if value is None:
        return (0, INF)
    return (value, value)


BIG_PAGE = 100_000


def cell(group: tuple[str, ...], row: dict[str, Any]) -> tuple:
    mask = sum(bit for name, bit in disclosure.SUPPLY_DIMENSIONS if name in group)
    return (mask, *(row[f] if name in group else None
                    for (name, _), f in zip(disclosure.SUPPLY_DIMENSIONS, FIELDS)))


class Reader:
    def __init__(self, client: TestClient, token: str):
        self.client, self.token = client, token

    def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": query, "variables": variables},
                                    headers={"Authorization": f"Bearer {self.token}"})
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        return body["data"]

    def supply(self, year: int) -> dict[tuple[str, ...], list[dict[str, Any]]]:
        return {group: self(SD, year=year, groupBy=list(group), first=BIG_PAGE)["supplyDemand"]["nodes"]
                for group in GROUPINGS}

    def match(self, year: int, districts: list[str]) -> dict[str | None, list[dict[str, Any]]]:
        return {d: self(MATCH, year=year, district=d)["majorIndustryMatch"] for d in [None, *districts]}

    def warnings(self, years: list[int]) -> list[dict[str, Any]]:
        return [w for y in years for w in self(WARNINGS, year=y)["majorWarnings"]]

    def teachers(self, year: int) -> dict[str, Any]:
        found = self(TEACHERS, year=year)["planIndicators"]
        return next(i["teachers"] for i in found if i["indicator"] == "DUAL_QUALIFIED_SHARE")


class Truth:
    """The exact counts and their persons, straight from the hub's summary tables."""

    def __init__(self, url: str):
        self.url = url

    def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async def go() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(self.url)
            try:
                return await conn.fetch(sql, *args)
            finally:
                await conn.close()
        return asyncio.run(go())

    def years(self) -> tuple[list[int], list[int]]:
        supply = [r[0] for r in self._fetch("select distinct year from hub.stat_supply_demand order by 1")]
        grads = [r[0] for r in self._fetch("select distinct year from hub.stat_major_outcomes order by 1")]
        return supply, grads

    def supply(self, year: int) -> dict[tuple, tuple[int, int]]:
        rows = self._fetch("select dims, occupation_code, district_code, skill_level, quarter, supply, persons "
                           "from hub.stat_supply_demand where year = $1 and dims & 8 = 0", year)
        return {(r["dims"], r["occupation_code"], r["district_code"], r["skill_level"], r["quarter"]):
                (r["supply"], r["persons"]) for r in rows}

    def outcomes(self, year: int) -> list[asyncpg.Record]:
        return self._fetch("select school_code, major_code, district_code, graduates, employed "
                           "from hub.stat_major_outcomes where year = $1", year)

    def teacher_years(self) -> list[int]:
        return [r[0] for r in self._fetch("select distinct year from hub.stat_plan_teachers order by 1")]

    def teachers(self, year: int) -> dict[tuple, tuple[int, int]]:
        rows = self._fetch("select school_code, teachers, dual from hub.stat_plan_teachers where year = $1", year)
        truth = {("teach", year, r["school_code"]): (r["teachers"], r["teachers"]) for r in rows}
        truth.update({("tdual", year, r["school_code"]): (r["dual"], r["dual"]) for r in rows})
        return truth

    def graduates(self, year: int) -> dict[tuple, tuple[int, int]]:
        truth: dict[tuple, tuple[int, int]] = {}

        def add(key: tuple, n: int) -> None:
            old = truth.get(key, (0, 0))[0]
            truth[key] = (old + n, old + n)

        for r in self.outcomes(year):
            s, m, d, g = r["school_code"], r["major_code"], r["district_code"], r["graduates"]
            truth[("grad", year, s, m)] = (g, g)
            truth[("empl", year, s, m)] = (r["employed"], r["employed"])
            for key in (("major", year, d, m), ("major", year, None, m), ("total", year, d), ("total", year, None)):
                add(key, g)
        return truth


def ptable(settings) -> Any:
    async def go() -> Any:
        db = await Databases(settings, settings.database_url).open()
        try:
            return await load_ptable(db.hub)
        finally:
            await db.close()
    return asyncio.run(go())


SD = """query($year: Int!, $groupBy: [SupplyDemandDimension!], $first: Int) {
  supplyDemand(year: $year, groupBy: $groupBy, first: $first) {
    nodes { occupationCode districtCode skillLevel quarter demand supply suppressed } } }"""


MATCH = """query($year: Int!, $district: String) { majorIndustryMatch(year: $year, district: $district) {
  majorCode graduates totalGraduates suppressed } }"""


WARNINGS = """query($year: Int!) { majorWarnings(year: $year) { majorCode schoolCode perturbed
  years { year graduates employed suppressed } } }"""


TEACHERS = """query($year: Int!) { planIndicators(year: $year) { indicator teachers { specialtyTeachers dualQualified
  perturbed schools { schoolCode specialtyTeachers dualQualified perturbed } } } }"""


GROUPINGS = [tuple(name for name, bit in disclosure.SUPPLY_DIMENSIONS if mask & bit) for mask in disclosure.SUPPLY_MASKS]


FIELDS = ("occupationCode", "districtCode", "skillLevel", "quarter")
