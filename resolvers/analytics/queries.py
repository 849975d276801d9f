"""analytics root fields: the published statistics, for every authenticated department (person counts of data
the reader does not own are perturbed, see ``resolvers.analytics.figures`` and ``resolvers.analytics.disclosure``)."""

from __future__ import annotations

import json
from typing import Any

import strawberry

from hub.api.pagination import build_connection
from hub.errors import Unauthenticated
from resolvers.analytics import figures as F
from resolvers.analytics.report import withdrawn
from resolvers.analytics.statistics import latest_refresh
from resolvers.analytics.watermark import for_reader
from resolvers.analytics.types import (
    MajorIndustryMatch,
    MajorWarning,
    PublishedReport,
    ReportWithdrawal,
    ShortageOccupation,
    StatisticsRefresh,
    SupplyDemandDimension,
    SupplyDemandOrder,
    SupplyDemandRowConnection,
    TrainingCatalogEntry,
)


def reader_of(ctx: Any) -> F.Reader:
    consumer = ctx.consumer
    if consumer is None:
        raise Unauthenticated("authentication required")
    return F.Reader(consumer.department)


def thresholds_of(ctx: Any) -> F.Thresholds:
    return F.Thresholds.from_settings(ctx.settings)


def _enum(cls: type, value: Any) -> Any:
    return value if isinstance(value, cls) or value is None else cls(value)


# The resolvers' bodies take the request Context, so that the compiled path for trusted documents
# (hub.api.fastpath, resolvers.analytics.specs) answers through exactly the same code.

async def supply_demand(ctx: Any, year: int, quarter: int | None = None, district: str | None = None,
                        occupation_code: str | None = None, skill_level: int | None = None,
                        group_by: list[SupplyDemandDimension] | None = None, industry_section: str | None = None,
                        order_by: SupplyDemandOrder = SupplyDemandOrder.KEY, first: int | None = None,
                        after: str | None = None) -> SupplyDemandRowConnection:
    reader = reader_of(ctx)
    page = ctx.page(first, after)
    rows = await F.supply_demand(ctx.db.hub, thresholds_of(ctx), reader, year, quarter=quarter,
                                 occupation_code=occupation_code, district=district, skill_level=skill_level,
                                 industry_section=industry_section,
                                 group_by=[_enum(SupplyDemandDimension, d) for d in group_by or ()],
                                 order=_enum(SupplyDemandOrder, order_by), limit=page.fetch, offset=page.after_id)
    numbered = [(page.after_id + i + 1, row) for i, row in enumerate(rows)]
    return build_connection(SupplyDemandRowConnection, numbered, page, lambda t: t[1], row_id=lambda t: t[0])


async def shortage_occupations(ctx: Any, year: int, limit: int | None = None,
                               districts: int = 3) -> list[ShortageOccupation]:
    return await F.shortage_occupations(ctx.db.hub, thresholds_of(ctx), reader_of(ctx), year, limit, districts)


async def training_catalog(ctx: Any, year: int) -> list[TrainingCatalogEntry]:
    reader_of(ctx)
    return await F.training_catalog(ctx.db.hub, thresholds_of(ctx), year)


async def major_industry_match(ctx: Any, year: int, district: str | None = None) -> list[MajorIndustryMatch]:
    return await F.major_industry_match(ctx.db.hub, thresholds_of(ctx), reader_of(ctx), year, district)


async def major_warnings(ctx: Any, year: int) -> list[MajorWarning]:
    return await F.major_warnings(ctx.db.hub, thresholds_of(ctx), reader_of(ctx), year)


def published_report(row, consumer: Any = None) -> PublishedReport:
    """A published version (a row of ``hub/stats_publications_list``, or of a publication just made) as
    ``consumer`` sees it (its watermark through ``resolvers.analytics.watermark``). Its figures are not part of it:
    they are served by ``/reports/{year}`` (``url``), and a withdrawn version's only to admins."""
    withdrawal = None
    if "withdrawn_at" in row.keys() and row["withdrawn_at"] is not None:
        withdrawal = ReportWithdrawal(reason=row["withdrawal_reason"], withdrawn_at=row["withdrawn_at"],
                                      withdrawn_by=row["withdrawn_by"], replaced_by=row["replaced_by"],
                                      replacement_url=withdrawn.url(row["year"], "html", row["replaced_by"]))
    return PublishedReport(year=row["year"], version=row["version"], published_at=row["published_at"],
                           published_by=row["published_by"], refresh_id=row["refresh_id"],
                           watermark=for_reader(json.loads(row["watermark"]), getattr(consumer, "department", None),
                                                bool(consumer is not None and consumer.is_admin)),
                           url=withdrawn.url(row["year"], "html", row["version"]), withdrawal=withdrawal)


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(description="Job-to-applicant figures (demand, supply, ratio = demand / supply, gap = demand - "
                                  "supply) of a year, grouped by any of the dimensions (none: the year's total) "
                                  "and filtered by quarter, district, occupation, skill level or industry section. "
                                  "A posting counts in every quarter its [postedOn, closesOn] meets, a seeker in "
                                  "every quarter its [registeredOn, leftOn] meets; without QUARTER the figures are "
                                  "the sums of the year's four quarters.")
    async def supply_demand(self, info: strawberry.Info, year: int, quarter: int | None = None,
                            district: str | None = None, occupation_code: str | None = None,
                            skill_level: int | None = None,
                            group_by: list[SupplyDemandDimension] | None = None,
                            industry_section: str | None = None,
                            order_by: SupplyDemandOrder = SupplyDemandOrder.KEY,
                            first: int | None = None, after: str | None = None) -> SupplyDemandRowConnection:
        return await supply_demand(info.context, year, quarter, district, occupation_code, skill_level, group_by,
                                   industry_section, order_by, first, after)

    @strawberry.field(description="The year's shortage occupations: ratio >= HUB_STATS_SHORTAGE_RATIO (1.5) in at "
                                  "least HUB_STATS_SHORTAGE_QUARTERS (3) quarters and annual demand >= "
                                  "HUB_STATS_SHORTAGE_MIN_DEMAND (10), ranked by annual gap (ties by code), with "
                                  "last year's rank and the `districts` districts with the largest gaps.")
    async def shortage_occupations(self, info: strawberry.Info, year: int, limit: int | None = None,
                                   districts: int = 3) -> list[ShortageOccupation]:
        return await shortage_occupations(info.context, year, limit, districts)

    @strawberry.field(description="Occupations with at least one training program running in the year, with "
                                  "programs, seats and providers, marked `shortage` when on the year's list.")
    async def training_catalog(self, info: strawberry.Info, year: int) -> list[TrainingCatalogEntry]:
        return await training_catalog(info.context, year)

    @strawberry.field(description="Major-industry match of the year in a district (null: the whole city): a "
                                  "major's share of the graduates of the district's schools / the share of the "
                                  "district's annual demand in the industries mapped to it; above "
                                  "HUB_STATS_MATCH_OVERSUPPLIED (1.5) OVERSUPPLIED, below "
                                  "HUB_STATS_MATCH_UNDERSUPPLIED (0.67) UNDERSUPPLIED.")
    async def major_industry_match(self, info: strawberry.Info, year: int,
                                   district: str | None = None) -> list[MajorIndustryMatch]:
        return await major_industry_match(info.context, year, district)

    @strawberry.field(description="Majors (per school) whose employment rate = employed / graduates stayed below "
                                  "HUB_STATS_EMPLOYMENT_THRESHOLD (0.80) in consecutive years up to the year: 2 "
                                  "years YELLOW (reduce enrollment), 3 or more RED (stop enrollment).")
    async def major_warnings(self, info: strawberry.Info, year: int) -> list[MajorWarning]:
        return await major_warnings(info.context, year)

    @strawberry.field(description="The latest refresh of the statistics and its data watermark (null: never).")
    async def statistics_refresh(self, info: strawberry.Info) -> StatisticsRefresh | None:
        reader_of(info.context)
        w = await latest_refresh(info.context.db.hub)
        if w is None:
            return None
        consumer = info.context.consumer
        return StatisticsRefresh(id=w.refresh_id, started_at=w.started_at, refreshed_at=w.refreshed_at,
                                 watermark=for_reader(w.as_json(), consumer.department, consumer.is_admin))

    @strawberry.field(description="Published versions of the annual report (of one year, or all), oldest first.")
    async def published_reports(self, info: strawberry.Info, year: int | None = None) -> list[PublishedReport]:
        reader_of(info.context)
        if year is not None:
            F.check_year(year)
        rows = await info.context.db.hub.fetch("hub/stats_publications_list", year)
        return [published_report(r, consumer=info.context.consumer) for r in rows]


from resolvers.analytics import specs as _specs  # noqa: E402,F401 - registers the compiled path's root specs
