"""GraphQL types of the published statistics (docs/design.md, "Published figures").

Every figure built from persons (seekers: labor's; graduates and the employed: education's) carries
``perturbed``: for a reader that does not own the underlying data, person counts are perturbed by the cell-key
method (``resolvers.analytics.disclosure``) and every figure derived from them is computed from the perturbed counts.
``suppressed`` is kept for clients of the earlier small-cell suppression: nothing is withheld any more.
"""

from __future__ import annotations

import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from hub.api.pagination import Connection

SUPPRESSED_DEPRECATION = ("Always false: small cells are no longer withheld but perturbed (cell-key method, "
                          "see `perturbed`).")


def suppressed_field() -> bool:
    return strawberry.field(description="Always false (nothing is withheld).",
                            deprecation_reason=SUPPRESSED_DEPRECATION)


def perturbed_field(counts: str) -> bool:
    return strawberry.field(description=f"{counts} carry cell-key noise (at most +-2, never 1 or 2; the same cell "
                                        "always shows the same value) because the reader does not own the persons; "
                                        "figures derived from them are computed from the perturbed counts.")


@strawberry.enum(description="A dimension job-to-applicant figures can be grouped by.")
class SupplyDemandDimension(Enum):
    OCCUPATION = "OCCUPATION"
    DISTRICT = "DISTRICT"
    SKILL_LEVEL = "SKILL_LEVEL"
    INDUSTRY_SECTION = "INDUSTRY_SECTION"
    QUARTER = "QUARTER"


# Bits of the grouped-dimension mask of hub.stat_supply_demand (sql/migrations/0008_statistics.sql).
DIMENSION_BITS: dict[SupplyDemandDimension, int] = {
    SupplyDemandDimension.OCCUPATION: 1, SupplyDemandDimension.DISTRICT: 2, SupplyDemandDimension.SKILL_LEVEL: 4,
    SupplyDemandDimension.INDUSTRY_SECTION: 8, SupplyDemandDimension.QUARTER: 16,
}


@strawberry.enum(description="Order of job-to-applicant rows: by their key fields, or by a figure (largest first).")
class SupplyDemandOrder(Enum):
    KEY = "KEY"
    GAP_DESC = "GAP_DESC"
    RATIO_DESC = "RATIO_DESC"
    DEMAND_DESC = "DEMAND_DESC"
    SUPPLY_DESC = "SUPPLY_DESC"


@strawberry.type(description="Job-to-applicant figures of one group. Key fields are set for the grouped (or "
                             "filtered) dimensions and null for the others; within a grouped dimension null means "
                             "\"not stated\" (skill level) or \"enterprise unknown to commerce\" (industry section).")
class SupplyDemandRow:
    year: int
    quarter: int | None = strawberry.field(description="1-4; null: the year (sum of its four quarters).")
    occupation_code: str | None
    occupation_name: str | None
    district_code: str | None
    district_name: str | None
    skill_level: int | None
    industry_section: str | None = strawberry.field(description="GB/T 4754 section of the posting enterprise.")
    industry_section_name: str | None
    demand: int = strawberry.field(description="Σ headcount of the postings counted in the quarter(s).")
    supply: int | None = strawberry.field(description="Number of seekers counted in the quarter(s); null when grouped "
                                                      "by industry section (seekers seek an occupation, not an "
                                                      "industry) or suppressed.")
    ratio: float | None = strawberry.field(description="Job-to-applicant ratio demand / supply; null when supply "
                                                       "is 0 (or null).")
    gap: int | None = strawberry.field(description="demand - supply.")
    suppressed: bool = suppressed_field()
    perturbed: bool = perturbed_field("Supply (seekers)")


@strawberry.type
class SupplyDemandRowConnection(Connection[SupplyDemandRow]):
    pass


@strawberry.type(description="One quarter of a shortage occupation (all districts and skill levels).")
class QuarterRatio:
    quarter: int
    demand: int
    supply: int | None
    ratio: float | None
    gap: int | None
    met: bool | None = strawberry.field(description="The published ratio (from the perturbed supply, for every "
                                                    "reader) reached the shortage threshold.")
    suppressed: bool = suppressed_field()
    perturbed: bool = perturbed_field("Supply (seekers)")


@strawberry.type(description="A district's annual figures for one occupation.")
class DistrictGap:
    district_code: str
    district_name: str | None
    demand: int
    supply: int | None
    ratio: float | None
    gap: int | None
    suppressed: bool = suppressed_field()
    perturbed: bool = perturbed_field("Supply (seekers)")


@strawberry.type(description="An occupation on the year's shortage list: ratio at or above the threshold in "
                             "enough quarters and enough annual demand, ranked by annual gap.")
class ShortageOccupation:
    rank: int
    previous_rank: int | None = strawberry.field(description="Its rank on the previous year's list (null: not on it).")
    occupation_code: str
    occupation_name: str | None
    quarters_met: int = strawberry.field(description="Quarters whose published ratio reached the threshold.")
    quarters: list[QuarterRatio]
    demand: int = strawberry.field(description="Annual demand (sum of the four quarters).")
    supply: int | None
    ratio: float | None
    gap: int | None
    suppressed: bool = suppressed_field()
    perturbed: bool = perturbed_field("Supply (seekers)")
    districts: list[DistrictGap] = strawberry.field(description="The districts with the largest positive published "
                                                                "gaps.")


@strawberry.type(description="An occupation with at least one training program running in the year.")
class TrainingCatalogEntry:
    occupation_code: str
    occupation_name: str | None
    programs: int
    seats: int
    providers: list[str]
    shortage: bool = strawberry.field(description="On the year's shortage list.")


@strawberry.enum(description="Match index above the upper bound, below the lower bound, or between.")
class MatchStatus(Enum):
    OVERSUPPLIED = "OVERSUPPLIED"
    BALANCED = "BALANCED"
    UNDERSUPPLIED = "UNDERSUPPLIED"


@strawberry.type(description="An industry (GB/T 4754 code of any level) a major is mapped to.")
class MappedIndustry:
    code: str
    name: str | None


@strawberry.type(description="How a major's share of the graduates compares with the share of demand in its "
                             "industries (district, or the whole city).")
class MajorIndustryMatch:
    year: int
    district_code: str | None = strawberry.field(description="Null: the whole city.")
    major_code: str
    major_name: str
    industries: list[MappedIndustry]
    graduates: int | None = strawberry.field(description="The major's graduates in the district's schools.")
    total_graduates: int | None
    graduates_share: float | None
    demand: int = strawberry.field(description="Annual demand in the district in the major's industries.")
    total_demand: int
    demand_share: float | None
    index: float | None = strawberry.field(description="graduatesShare / demandShare; null when no demand in the "
                                                       "major's industries.")
    status: MatchStatus | None
    suppressed: bool = suppressed_field()
    perturbed: bool = perturbed_field("Graduates (the major's and the total)")


@strawberry.enum
class WarningLevel(Enum):
    YELLOW = "YELLOW"
    RED = "RED"


@strawberry.enum
class WarningAction(Enum):
    REDUCE_ENROLLMENT = "REDUCE_ENROLLMENT"
    STOP_ENROLLMENT = "STOP_ENROLLMENT"


@strawberry.type(description="A major's graduates and employment in one year.")
class EmploymentYear:
    year: int
    graduates: int | None
    employed: int | None
    employment_rate: float | None = strawberry.field(description="employed / graduates (null: no graduates).")
    below_threshold: bool | None
    suppressed: bool = suppressed_field()
    perturbed: bool = perturbed_field("Graduates and employed (employed shown at most graduates)")


@strawberry.type(description="A school's major whose employment rate stayed below the threshold for consecutive "
                             "years up to the year: YELLOW (2 years, reduce enrollment) or RED (3+, stop enrollment).")
class MajorWarning:
    major_code: str
    major_name: str
    school_code: str
    school_name: str
    district_code: str
    years: list[EmploymentYear]
    consecutive_years_below: int | None
    level: WarningLevel | None
    action: WarningAction | None
    suppressed: bool = suppressed_field()
    perturbed: bool = perturbed_field("The graduates and employed of its years")


WATERMARK = ("Per department the reading snapshot's xmin and each source table's row count and max id, shown to "
             "that department and to admins; others see of each source only labor's horizonYear (row counts would "
             "tell how many persons were added between two refreshes).")


@strawberry.type(description="A refresh of the statistics' summary tables and the data watermark it read.")
class StatisticsRefresh:
    id: int
    started_at: datetime.datetime
    refreshed_at: datetime.datetime
    watermark: JSON = strawberry.field(description=WATERMARK)


@strawberry.type(description="The withdrawal of a published report version (append-only, never undone). The "
                               "record is public; the version's figures are not any more (its URLs answer 410 Gone "
                               "with this notice to everyone but an admin).")
class ReportWithdrawal:
    reason: str
    withdrawn_at: datetime.datetime
    withdrawn_by: str
    replaced_by: int | None = strawberry.field(
        description="The version that replaces it: the year's latest version not withdrawn (null: none is left, the "
                    "year's report is its draft).")
    replacement_url: str = strawberry.field(
        description="Path of the replacement's HTML page (the year's report when no version is left).")


@strawberry.type(description="A published (frozen) version of a year's report.")
class PublishedReport:
    year: int
    version: int
    published_at: datetime.datetime
    published_by: str
    refresh_id: int
    watermark: JSON = strawberry.field(description="The data watermark the figures were computed from. "
                                                   + WATERMARK)
    url: str = strawberry.field(description="Path of this version's HTML page (.csv and .json beside it).")
    withdrawal: ReportWithdrawal | None = strawberry.field(
        default=None, description="Set when the version was withdrawn: its figures are no longer public (its URLs "
                                  "answer 410 Gone with the withdrawal to everyone but an admin, whose reads are "
                                  "audited) and the year's report shows the latest version not withdrawn.")
