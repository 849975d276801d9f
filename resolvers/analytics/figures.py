"""The published statistics, computed in SQL from the hub's summary tables (``resolvers.analytics.statistics``) and shaped
into the GraphQL types, with disclosure control for the reader. Used by the GraphQL fields and by the
annual report (``resolvers.analytics.report.build``), so both always show the same figures.

Definitions (docs/design.md, "Published figures"); thresholds come from settings (``Thresholds``):

* job-to-applicant ratio = demand / supply per group (null when supply is 0), gap = demand - supply; a
  year's figures are the sums of its four quarters;
* shortage occupations: ratio >= ``shortage_ratio`` in >= ``shortage_quarters`` quarters (a quarter without
  seekers has no ratio, so it does not count) and annual demand >= ``shortage_min_demand``;
* training catalog, major-industry match, major warnings: see the SQL files ``sql/queries/hub/stats_*.sql``.

Disclosure control (cell-key method, ``resolvers.analytics.disclosure``): a reader that does not own the persons behind a
count (seekers: labor; graduates and the employed: education) gets the perturbed count the refresh stored (or
``hub.stat_perturbed`` computes) for that cell, and every figure derived from it (ratio, gap, shares, index,
status, a warning's run) is computed from the perturbed counts. Owners get exact counts. The shortage list
(membership, rank, quarters met, districts) is computed from the perturbed supply for every reader: there is
one official list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable

from hub.errors import BadUserInput
from resolvers.analytics import disclosure
from resolvers.analytics.types import (
    DIMENSION_BITS,
    DistrictGap,
    EmploymentYear,
    MajorIndustryMatch,
    MajorWarning,
    MappedIndustry,
    MatchStatus,
    QuarterRatio,
    ShortageOccupation,
    SupplyDemandDimension,
    SupplyDemandOrder,
    SupplyDemandRow,
    TrainingCatalogEntry,
    WarningAction,
    WarningLevel,
)

if TYPE_CHECKING:
    from hub.db.pools import Department
    from hub.settings import Settings

SEEKERS_OWNER = "labor"
GRADUATES_OWNER = "education"
WARNING_YEARS = {2: WarningLevel.YELLOW, 3: WarningLevel.RED}  # consecutive years below -> level (3+: RED)
ACTIONS = {WarningLevel.YELLOW: WarningAction.REDUCE_ENROLLMENT, WarningLevel.RED: WarningAction.STOP_ENROLLMENT}
HISTORY_YEARS = 5  # employment rates shown per warning: the years up to the report year
YEARS = range(2000, 2101)


@dataclass(frozen=True)
class Thresholds:
    """The configurable thresholds (HUB_STATS_*), as exact decimals for the SQL comparisons."""

    shortage_ratio: Decimal = Decimal("1.5")
    shortage_quarters: int = 3
    shortage_min_demand: int = 10
    match_oversupplied: Decimal = Decimal("1.5")
    match_undersupplied: Decimal = Decimal("0.67")
    employment: Decimal = Decimal("0.80")

    @classmethod
    def from_settings(cls, s: "Settings") -> "Thresholds":
        return cls(Decimal(str(s.stats_shortage_ratio)), s.stats_shortage_quarters, s.stats_shortage_min_demand,
                   Decimal(str(s.stats_match_oversupplied)), Decimal(str(s.stats_match_undersupplied)),
                   Decimal(str(s.stats_employment_threshold)))

    def as_json(self) -> dict[str, Any]:
        return {"shortageRatio": float(self.shortage_ratio), "shortageQuarters": self.shortage_quarters,
                "shortageMinDemand": self.shortage_min_demand,
                "matchOversupplied": float(self.match_oversupplied),
                "matchUndersupplied": float(self.match_undersupplied),
                "employmentThreshold": float(self.employment),
                "smallCellMin": disclosure.SMALLEST_SHOWN, "disclosure": disclosure.METHOD}


@dataclass(frozen=True)
class Reader:
    """Who reads the figures: the owning department sees exact counts; others (``None``: the public, e.g. the
    published report) see perturbed ones."""

    department: str | None = None

    def sees_exact(self, owner: str) -> bool:
        return self.department == owner


PUBLIC = Reader(None)


def _ratio(demand: int, supply: int | None) -> float | None:
    return demand / supply if supply else None


def _gap(demand: int, supply: int | None) -> int | None:
    return None if supply is None else demand - supply


def check_year(year: int) -> int:
    if year not in YEARS:
        raise BadUserInput(f"year must be between {YEARS.start} and {YEARS.stop - 1}, got {year}", argument="year")
    return year


def _check_range(name: str, value: int | None, lo: int, hi: int) -> None:
    if value is not None and not lo <= value <= hi:
        raise BadUserInput(f"{name} must be between {lo} and {hi}, got {value}", argument=name)


# --- job-to-applicant ratios ------------------------------------------------------------------------

def dimension_mask(group_by: Iterable[SupplyDemandDimension], **filters: Any) -> int:
    """The summary rows to read: grouped dimensions plus filtered ones (a filter is a group, selected)."""
    mask = 0
    for d in group_by:
        mask |= DIMENSION_BITS[d]
    for dim, value in (("QUARTER", filters.get("quarter")), ("OCCUPATION", filters.get("occupation_code")),
                       ("DISTRICT", filters.get("district")), ("SKILL_LEVEL", filters.get("skill_level")),
                       ("INDUSTRY_SECTION", filters.get("industry_section"))):
        if value is not None:
            mask |= DIMENSION_BITS[SupplyDemandDimension[dim]]
    return mask


async def supply_demand(hub: "Department", th: Thresholds, reader: Reader, year: int, *, quarter: int | None = None,
                        occupation_code: str | None = None, district: str | None = None,
                        skill_level: int | None = None, industry_section: str | None = None,
                        group_by: Iterable[SupplyDemandDimension] = (),
                        order: SupplyDemandOrder = SupplyDemandOrder.KEY, limit: int | None = None,
                        offset: int = 0) -> list[SupplyDemandRow]:
    """Rows of demand, supply, ratio and gap of ``year`` per group (no group: the year's total)."""
    check_year(year)
    _check_range("quarter", quarter, 1, 4)
    _check_range("skillLevel", skill_level, 1, 5)
    mask = dimension_mask(group_by, quarter=quarter, occupation_code=occupation_code, district=district,
                          skill_level=skill_level, industry_section=industry_section)
    filters = (year, mask, quarter, occupation_code, district, skill_level, industry_section)
    exact = reader.sees_exact(SEEKERS_OWNER)
    if order is SupplyDemandOrder.KEY:
        rows = await hub.fetch("hub/stats_supply_demand", *filters, limit, offset, exact)
    else:
        rows = await hub.fetch("hub/stats_supply_demand_by_figure", *filters, order.value, limit, offset, exact)
    return [_supply_demand_row(r, year, exact) for r in rows]


def _supply_demand_row(r: Any, year: int, exact: bool) -> SupplyDemandRow:
    return SupplyDemandRow(
        year=year, quarter=r["quarter"], occupation_code=r["occupation_code"], occupation_name=r["occupation_name"],
        district_code=r["district_code"], district_name=r["district_name"], skill_level=r["skill_level"],
        industry_section=r["section"], industry_section_name=r["section_name"], demand=r["demand"],
        supply=r["supply"], ratio=r["ratio"], gap=r["gap"], suppressed=False, perturbed=not exact)


def empty_row(year: int, quarter: int | None = None) -> SupplyDemandRow:
    """The figures of a group without postings or seekers."""
    return SupplyDemandRow(year=year, quarter=quarter, occupation_code=None, occupation_name=None, district_code=None,
                           district_name=None, skill_level=None, industry_section=None, industry_section_name=None,
                           demand=0, supply=0, ratio=None, gap=0, suppressed=False, perturbed=False)


# --- shortage occupations and the training catalog --------------------------------------------------

async def shortage_occupations(hub: "Department", th: Thresholds, reader: Reader, year: int,
                               limit: int | None = None, districts: int = 3) -> list[ShortageOccupation]:
    """The year's shortage list, ranked, each with its quarters and its ``districts`` largest district gaps."""
    check_year(year)
    if limit is not None and limit < 0:
        raise BadUserInput("limit must not be negative", argument="limit")
    if not 0 <= districts <= 50:
        raise BadUserInput("districts must be between 0 and 50", argument="districts")
    rows = await hub.fetch("hub/stats_shortage", year, th.shortage_ratio, th.shortage_quarters,
                           th.shortage_min_demand, limit)
    exact = reader.sees_exact(SEEKERS_OWNER)
    by_occupation: dict[str, list[DistrictGap]] = {r["occupation_code"]: [] for r in rows}
    if rows and districts:
        for d in await hub.fetch("hub/stats_shortage_districts", year, list(by_occupation), districts):
            supply = d["supply"] if exact else d["public_supply"]
            by_occupation[d["occupation_code"]].append(DistrictGap(
                district_code=d["district_code"], district_name=d["district_name"], demand=d["demand"],
                supply=supply, ratio=_ratio(d["demand"], supply), gap=_gap(d["demand"], supply), suppressed=False,
                perturbed=not exact))
    result = []
    for r in rows:
        supply = r["supply"] if exact else r["public_supply"]
        result.append(ShortageOccupation(
            rank=r["rank"], previous_rank=r["previous_rank"], occupation_code=r["occupation_code"],
            occupation_name=r["occupation_name"], quarters_met=r["quarters_met"],
            quarters=_quarters(json.loads(r["quarters"] or "[]"), exact), demand=r["demand"],
            supply=supply, ratio=_ratio(r["demand"], supply), gap=_gap(r["demand"], supply), suppressed=False,
            perturbed=not exact, districts=by_occupation[r["occupation_code"]]))
    return result


def _quarters(found: list[dict[str, Any]], exact: bool) -> list[QuarterRatio]:
    """All four quarters (a quarter without postings or seekers has demand and supply 0); ``met`` is the public
    list's (from the perturbed supply) for every reader."""
    by_quarter = {q["quarter"]: q for q in found}
    out = []
    for quarter in (1, 2, 3, 4):
        q = by_quarter.get(quarter) or {"demand": 0, "supply": 0, "publicSupply": 0, "met": False}
        supply = q["supply"] if exact else q["publicSupply"]
        out.append(QuarterRatio(quarter=quarter, demand=q["demand"], supply=supply, ratio=_ratio(q["demand"], supply),
                                gap=_gap(q["demand"], supply), met=q["met"], suppressed=False, perturbed=not exact))
    return out


async def shortage_codes(hub: "Department", th: Thresholds, year: int) -> list[str]:
    rows = await hub.fetch("hub/stats_shortage_codes", year, th.shortage_ratio, th.shortage_quarters,
                           th.shortage_min_demand)
    return [r["occupation_code"] for r in rows]


async def training_catalog(hub: "Department", th: Thresholds, year: int) -> list[TrainingCatalogEntry]:
    """Occupations with a training program running in ``year``, marked when on the year's shortage list."""
    check_year(year)
    codes = await shortage_codes(hub, th, year)
    rows = await hub.fetch("hub/stats_training_catalog", year, codes)
    return [TrainingCatalogEntry(occupation_code=r["occupation_code"], occupation_name=r["occupation_name"],
                                 programs=r["programs"], seats=r["seats"], providers=list(r["providers"]),
                                 shortage=r["shortage"]) for r in rows]


# --- majors ---------------------------------------------------------------------------------------------

async def major_industry_match(hub: "Department", th: Thresholds, reader: Reader, year: int,
                               district: str | None = None) -> list[MajorIndustryMatch]:
    """Each major's share of the graduates of ``district``'s schools (None: the city) against the share of the
    district's annual demand in the industries mapped to it."""
    check_year(year)
    exact = reader.sees_exact(GRADUATES_OWNER)
    rows = await hub.fetch("hub/stats_major_match", year, district, th.match_oversupplied, th.match_undersupplied,
                           exact)
    return [MajorIndustryMatch(
        year=year, district_code=district, major_code=r["major_code"], major_name=r["major_name"],
        industries=[MappedIndustry(code=i["code"], name=i["name"]) for i in json.loads(r["industries"])],
        graduates=r["graduates"], total_graduates=r["total_graduates"], graduates_share=r["graduates_share"],
        demand=r["demand"], total_demand=r["total_demand"], demand_share=r["demand_share"], index=r["index"],
        status=None if r["status"] is None else MatchStatus(r["status"]), suppressed=False, perturbed=not exact)
        for r in rows]


async def match_districts(hub: "Department", year: int) -> list[tuple[str, str | None]]:
    """(code, name) of the districts whose schools had outcomes in ``year``."""
    return [(r["district_code"], r["district_name"]) for r in await hub.fetch("hub/stats_major_districts", year)]


async def major_warnings(hub: "Department", th: Thresholds, reader: Reader, year: int) -> list[MajorWarning]:
    """School majors whose employment rate was below the threshold in consecutive years up to ``year``."""
    check_year(year)
    exact = reader.sees_exact(GRADUATES_OWNER)
    rows = await hub.fetch("hub/stats_major_warnings", year, th.employment, min(WARNING_YEARS), HISTORY_YEARS, exact)
    out = []
    for r in rows:
        level = WARNING_YEARS[min(r["years_below"], max(WARNING_YEARS))]
        years = [EmploymentYear(year=y["year"], graduates=y["graduates"], employed=y["employed"],
                                employment_rate=y["rate"], below_threshold=y["below"], suppressed=False,
                                perturbed=not exact)
                 for y in json.loads(r["years"] or "[]")]
        out.append(MajorWarning(
            major_code=r["major_code"], major_name=r["major_name"], school_code=r["school_code"],
            school_name=r["school_name"], district_code=r["district_code"], years=years,
            consecutive_years_below=r["years_below"], level=level, action=ACTIONS[level], suppressed=False,
            perturbed=not exact))
    return out
