"""Enrollment guidance (issue 16; docs/statistics.md, definitions table): which majors a district's schools should
EXPAND, OPEN and stop DUPLICATING, each with its reason in figures and the schools concerned, computed from the
hub's summary tables (the major-industry match, the official shortage list, the demand forecasts per industry
class, the national major catalog and its mappings) — never from a department's tables.

* EXPAND: the major's match in the district is UNDERSUPPLIED and the demand in its industries is growing: the
  forecast of the 4 quarters after the data is at least ``HUB_STATS_GROWTH`` (10 %) above the latest 4 quarters'.
* OPEN: no school of the district teaches the major in the year, and it is mapped to an occupation on the year's
  shortage list or its industries' demand is growing (as above).
* DUPLICATED: at least ``HUB_STATS_DUPLICATE_SCHOOLS`` (3) schools of the district teach the major in the year while
  its match there is OVERSUPPLIED.

Disclosure control: the match's shares, index and status are the reader's view (graduates perturbed for every
reader but education, as ``majorIndustryMatch``); the shortage list is the official one (from the perturbed supply);
demand and numbers of schools are not person counts. So every figure here is one the reader is already shown.
"""

from __future__ import annotations

import json
from typing import Any

import strawberry

from resolvers.analytics import figures as F
from resolvers.analytics.queries import reader_of, thresholds_of
from resolvers.analytics.types import MajorIndustryMatch, MatchStatus


@strawberry.type(description="A school teaching a major.")
class GuidanceSchool:
    code: str
    name: str
    district_code: str


@strawberry.type(description="Demand in a major's industries: the latest 4 complete quarters and the forecast of the "
                             "next 4 (sums over the industry classes the major is mapped to).")
class IndustryGrowth:
    last_year_demand: float
    forecast_demand: float
    growth: float | None = strawberry.field(description="forecastDemand / lastYearDemand - 1 (null: no demand in the "
                                                        "latest 4 quarters).")
    growing: bool = strawberry.field(description="growth >= HUB_STATS_GROWTH.")


@strawberry.type(description="A major to expand: UNDERSUPPLIED in the match and growing demand in its industries.")
class ExpandMajor:
    major_code: str
    major_name: str
    category: str | None
    match: MajorIndustryMatch = strawberry.field(description="Its match there, as majorIndustryMatch shows it.")
    demand: IndustryGrowth
    schools: list[GuidanceSchool] = strawberry.field(description="The district's schools teaching it.")


@strawberry.type(description="An occupation (code and name).")
class GuidanceOccupation:
    code: str
    name: str | None


@strawberry.type(description="A catalog major no school of the district teaches that is mapped to a shortage "
                             "occupation or to growing industries.")
class OpenMajor:
    major_code: str
    major_name: str
    category: str
    shortage_occupations: list[GuidanceOccupation] = strawberry.field(
        description="Occupations it is mapped to on the year's official shortage list.")
    demand: IndustryGrowth | None = strawberry.field(description="Null: no forecast for its industries here.")
    taught_elsewhere: list[GuidanceSchool] = strawberry.field(
        description="Schools of other districts teaching it in the year (none when district is null).")


@strawberry.type(description="A major taught by at least HUB_STATS_DUPLICATE_SCHOOLS schools of the district while "
                             "its match there is OVERSUPPLIED (设置雷同).")
class DuplicatedMajor:
    major_code: str
    major_name: str
    category: str | None
    school_count: int
    match: MajorIndustryMatch = strawberry.field(description="Its match there, as majorIndustryMatch shows it.")
    schools: list[GuidanceSchool]


@strawberry.type(description="Enrollment guidance of a year for a district (null: the whole city).")
class EnrollmentGuidance:
    year: int
    district_code: str | None
    duplicate_schools: int = strawberry.field(description="N of the DUPLICATED rule (HUB_STATS_DUPLICATE_SCHOOLS).")
    growth_threshold: float = strawberry.field(description="Growth that counts as growing (HUB_STATS_GROWTH).")
    expand: list[ExpandMajor]
    open: list[OpenMajor]
    duplicated: list[DuplicatedMajor]


def _growth(row: Any, threshold: float) -> IndustryGrowth | None:
    if row is None:
        return None
    last, forecast = float(row["last_year_demand"]), float(row["forecast_demand"])
    growth = forecast / last - 1 if last else None
    return IndustryGrowth(last_year_demand=last, forecast_demand=forecast, growth=growth,
                          growing=growth is not None and growth >= threshold)


def _schools(found: list[dict[str, Any]]) -> list[GuidanceSchool]:
    return [GuidanceSchool(code=s["code"], name=s["name"], district_code=s["districtCode"]) for s in found]


async def enrollment_guidance(hub: Any, th: F.Thresholds, reader: F.Reader, year: int, district: str | None,
                              duplicate_schools: int, growth_threshold: float) -> EnrollmentGuidance:
    F.check_year(year)
    match = {m.major_code: m for m in await F.major_industry_match(hub, th, reader, year, district)}
    growth = {r["major_code"]: r for r in await hub.fetch("hub/stats_guidance_growth", district)}
    taught = {r["major_code"]: r for r in await hub.fetch("hub/stats_guidance_schools", year, district)}

    expand, duplicated = [], []
    for code, t in taught.items():
        m = match.get(code)
        schools = json.loads(t["schools"])
        if m is not None and m.status is MatchStatus.UNDERSUPPLIED:
            g = _growth(growth.get(code), growth_threshold)
            if g is not None and g.growing:
                expand.append(ExpandMajor(major_code=code, major_name=t["major_name"], category=t["category"],
                                          match=m, demand=g, schools=_schools(schools)))
        if m is not None and m.status is MatchStatus.OVERSUPPLIED and len(schools) >= duplicate_schools:
            duplicated.append(DuplicatedMajor(major_code=code, major_name=t["major_name"], category=t["category"],
                                              school_count=len(schools), match=m,
                                              schools=_schools(schools)))

    shortage = await F.shortage_codes(hub, th, year)
    names = {r["code"]: r["name"] for r in await hub.fetch("hub/stats_occupation_names", shortage)} if shortage else {}
    elsewhere: dict[str, list[GuidanceSchool]] = {}
    if district is not None:
        for r in await hub.fetch("hub/stats_guidance_schools", year, None):
            elsewhere[r["major_code"]] = [s for s in _schools(json.loads(r["schools"])) if s.district_code != district]
    opened = []
    for r in await hub.fetch("hub/stats_guidance_untaught", year, district, shortage):
        g = _growth(growth.get(r["major_code"]), growth_threshold)
        if r["shortage_occupations"] or (g is not None and g.growing):
            opened.append(OpenMajor(
                major_code=r["major_code"], major_name=r["major_name"], category=r["category"],
                shortage_occupations=[GuidanceOccupation(code=c, name=names.get(c)) for c in r["shortage_occupations"]],
                demand=g, taught_elsewhere=elsewhere.get(r["major_code"], [])))
    return EnrollmentGuidance(year=year, district_code=district, duplicate_schools=duplicate_schools,
                              growth_threshold=growth_threshold, expand=expand, open=opened, duplicated=duplicated)


@strawberry.type
class GuidanceQuery:
    @strawberry.field(description="Enrollment guidance of the year in a district (null: the whole city): majors to "
                                  "EXPAND (UNDERSUPPLIED and growing forecast demand in their industries), to OPEN "
                                  "(taught by no school there, mapped to a shortage occupation or growing industries) "
                                  "and DUPLICATED (taught by >= HUB_STATS_DUPLICATE_SCHOOLS schools there while "
                                  "OVERSUPPLIED), each with its figures and schools.")
    async def enrollment_guidance(self, info: strawberry.Info, year: int,
                                  district: str | None = None) -> EnrollmentGuidance:
        ctx = info.context
        return await enrollment_guidance(ctx.db.hub, thresholds_of(ctx), reader_of(ctx), year, district,
                                         ctx.settings.stats_duplicate_schools, ctx.settings.stats_growth)
