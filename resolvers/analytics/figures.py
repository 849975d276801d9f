"""The published statistics, computed in SQL from the hub's summary tables (``hub.statistics``) and shaped
into the GraphQL types, with small-cell protection for the reader. Used by the GraphQL fields and by the
annual report (``hub.report``), so both always show the same figures.

Definitions (DESIGN.md, "Policy outputs"); thresholds come from settings (``Thresholds``):

* job-to-applicant ratio = demand / supply per group (null when supply is 0), gap = demand - supply; a
  year's figures are the sums of its four quarters;
* shortage occupations: ratio >= ``shortage_ratio`` in >= ``shortage_quarters`` quarters (a quarter without
  seekers has no ratio, so it does not count) and annual demand >= ``shortage_min_demand``;
* training catalog, major-industry match, major warnings: see the SQL files ``sql/queries/hub/stats_*.sql``.

Small cells: a reader that does not own the persons behind a figure (seekers: labor; graduates: education)
gets figures from 1 to ``small_cell_min - 1`` persons as null, marked ``suppressed``. Zero persons reveal
nobody and are shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable

from hub.errors import BadUserInput
from resolvers.analytics.types import (
    DIMENSION_BITS, DistrictGap, EmploymentYear, MajorIndustryMatch, MajorWarning, MappedIndustry, MatchStatus,
    QuarterRatio, ShortageOccupation, SupplyDemandDimension, SupplyDemandOrder, SupplyDemandRow,
    TrainingCatalogEntry, WarningAction, WarningLevel,
)

if TYPE_CHECKING:
    from hub.db import Department
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
    small_cell_min: int = 3

    @classmethod
    def from_settings(cls, s: "Settings") -> "Thresholds":
        return cls(Decimal(str(s.stats_shortage_ratio)), s.stats_shortage_quarters, s.stats_shortage_min_demand,
                   Decimal(str(s.stats_match_oversupplied)), Decimal(str(s.stats_match_undersupplied)),
                   Decimal(str(s.stats_employment_threshold)), s.stats_small_cell_min)

    def as_json(self) -> dict[str, Any]:
        return {"shortageRatio": float(self.shortage_ratio), "shortageQuarters": self.shortage_quarters,
                "shortageMinDemand": self.shortage_min_demand,
                "matchOversupplied": float(self.match_oversupplied),
                "matchUndersupplied": float(self.match_undersupplied),
                "employmentThreshold": float(self.employment), "smallCellMin": self.small_cell_min}


@dataclass(frozen=True)
class Reader:
    """Who reads the figures: the owning department sees every cell; others (``None``: the public, e.g. the
    published report) get small cells suppressed."""

    department: str | None = None

    def sees_small_cells_of(self, owner: str) -> bool:
        return self.department == owner


PUBLIC = Reader(None)


def _hidden(persons: int | None, reader: Reader, owner: str, minimum: int) -> bool:
    """True when a figure built from ``persons`` persons must be withheld from ``reader``."""
    return persons is not None and 0 < persons < minimum and not reader.sees_small_cells_of(owner)


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
    if order is SupplyDemandOrder.KEY:
        rows = await hub.fetch("hub/stats_supply_demand", *filters, limit, offset)
    else:
        hide_below = 0 if reader.sees_small_cells_of(SEEKERS_OWNER) else th.small_cell_min
        rows = await hub.fetch("hub/stats_supply_demand_by_figure", *filters, order.value, limit, offset, hide_below)
    return [_supply_demand_row(r, year, th, reader) for r in rows]


def _supply_demand_row(r: Any, year: int, th: Thresholds, reader: Reader) -> SupplyDemandRow:
    hidden = _hidden(r["persons"], reader, SEEKERS_OWNER, th.small_cell_min)
    return SupplyDemandRow(
        year=year, quarter=r["quarter"], occupation_code=r["occupation_code"], occupation_name=r["occupation_name"],
        district_code=r["district_code"], district_name=r["district_name"], skill_level=r["skill_level"],
        industry_section=r["section"], industry_section_name=r["section_name"], demand=r["demand"],
        supply=None if hidden else r["supply"], ratio=None if hidden else r["ratio"],
        gap=None if hidden else r["gap"], suppressed=hidden)


def empty_row(year: int, quarter: int | None = None) -> SupplyDemandRow:
    """The figures of a group without postings or seekers."""
    return SupplyDemandRow(year=year, quarter=quarter, occupation_code=None, occupation_name=None, district_code=None,
                           district_name=None, skill_level=None, industry_section=None, industry_section_name=None,
                           demand=0, supply=0, ratio=None, gap=0, suppressed=False)


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
    by_occupation: dict[str, list[DistrictGap]] = {r["occupation_code"]: [] for r in rows}
    if rows and districts:
        for d in await hub.fetch("hub/stats_shortage_districts", year, list(by_occupation), districts):
            hidden = _hidden(d["persons"], reader, SEEKERS_OWNER, th.small_cell_min)
            by_occupation[d["occupation_code"]].append(DistrictGap(
                district_code=d["district_code"], district_name=d["district_name"], demand=d["demand"],
                supply=None if hidden else d["supply"], ratio=None if hidden else d["ratio"],
                gap=None if hidden else d["gap"], suppressed=hidden))
    result = []
    for r in rows:
        hidden = _hidden(r["persons"], reader, SEEKERS_OWNER, th.small_cell_min)
        result.append(ShortageOccupation(
            rank=r["rank"], previous_rank=r["previous_rank"], occupation_code=r["occupation_code"],
            occupation_name=r["occupation_name"], quarters_met=r["quarters_met"],
            quarters=_quarters(json.loads(r["quarters"] or "[]"), th, reader), demand=r["demand"],
            supply=None if hidden else r["supply"], ratio=None if hidden else r["ratio"],
            gap=None if hidden else r["gap"], suppressed=hidden, districts=by_occupation[r["occupation_code"]]))
    return result


def _quarters(found: list[dict[str, Any]], th: Thresholds, reader: Reader) -> list[QuarterRatio]:
    """All four quarters (a quarter without postings or seekers has demand and supply 0)."""
    by_quarter = {q["quarter"]: q for q in found}
    out = []
    for quarter in (1, 2, 3, 4):
        q = by_quarter.get(quarter) or {"demand": 0, "supply": 0, "gap": 0, "ratio": None, "met": False}
        hidden = _hidden(q["supply"], reader, SEEKERS_OWNER, th.small_cell_min)  # a quarter's supply = persons
        out.append(QuarterRatio(quarter=quarter, demand=q["demand"], supply=None if hidden else q["supply"],
                                ratio=None if hidden else q["ratio"], gap=None if hidden else q["gap"],
                                met=None if hidden else q["met"], suppressed=hidden))
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
    rows = await hub.fetch("hub/stats_major_match", year, district, th.match_oversupplied, th.match_undersupplied)
    out = []
    for r in rows:
        total_hidden = _hidden(r["total_graduates"], reader, GRADUATES_OWNER, th.small_cell_min)
        hidden = total_hidden or _hidden(r["graduates"], reader, GRADUATES_OWNER, th.small_cell_min)
        out.append(MajorIndustryMatch(
            year=year, district_code=district, major_code=r["major_code"], major_name=r["major_name"],
            industries=[MappedIndustry(code=i["code"], name=i["name"]) for i in json.loads(r["industries"])],
            graduates=None if hidden else r["graduates"],
            total_graduates=None if total_hidden else r["total_graduates"],
            graduates_share=None if hidden else r["graduates_share"], demand=r["demand"],
            total_demand=r["total_demand"], demand_share=r["demand_share"],
            index=None if hidden else r["index"],
            status=None if hidden or r["status"] is None else MatchStatus(r["status"]), suppressed=hidden))
    return out


async def match_districts(hub: "Department", year: int) -> list[tuple[str, str | None]]:
    """(code, name) of the districts whose schools had outcomes in ``year``."""
    return [(r["district_code"], r["district_name"]) for r in await hub.fetch("hub/stats_major_districts", year)]


async def major_warnings(hub: "Department", th: Thresholds, reader: Reader, year: int) -> list[MajorWarning]:
    """School majors whose employment rate was below the threshold in consecutive years up to ``year``."""
    check_year(year)
    rows = await hub.fetch("hub/stats_major_warnings", year, th.employment, min(WARNING_YEARS), HISTORY_YEARS)
    out = []
    for r in rows:
        run = r["years_below"]
        level = WARNING_YEARS[min(run, max(WARNING_YEARS))]
        # The run's length rests on every year in it and on the year that ends it: if any of them is withheld,
        # so is the warning (its level would tell whether the withheld rate was below the threshold).
        hidden = _hidden(r["basis_min_graduates"], reader, GRADUATES_OWNER, th.small_cell_min)
        years = []
        for y in json.loads(r["years"] or "[]"):
            y_hidden = _hidden(y["graduates"], reader, GRADUATES_OWNER, th.small_cell_min)
            years.append(EmploymentYear(
                year=y["year"], graduates=None if y_hidden else y["graduates"],
                employed=None if y_hidden else y["employed"], employment_rate=None if y_hidden else y["rate"],
                below_threshold=None if y_hidden else y["below"], suppressed=y_hidden))
        out.append(MajorWarning(
            major_code=r["major_code"], major_name=r["major_name"], school_code=r["school_code"],
            school_name=r["school_name"], district_code=r["district_code"], years=years,
            consecutive_years_below=None if hidden else run, level=None if hidden else level,
            action=None if hidden else ACTIONS[level], suppressed=hidden))
    return out
