"""science root fields."""

from __future__ import annotations

import datetime

import strawberry

from hub.pagination import build_connection, like_contains, like_prefix
from resolvers.science.loaders import ResearchProjectByCodeLoader
from resolvers.science.types import (
    InnovationPlatformConnection, InnovationPlatformKind, ResearchProject, ResearchProjectConnection,
    TechTransferConnection, innovation_platform_from_row, research_project_from_row, tech_transfer_from_row,
)


@strawberry.type
class ScienceQuery:
    @strawberry.field(description="Research projects, filtered by field, industry-code prefix, lead enterprise, "
                                  "partner school, start date or title.")
    async def research_projects(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                                field: str | None = None, industry_code_prefix: str | None = None,
                                lead_enterprise_uscc: str | None = None, partner_school_code: str | None = None,
                                starts_from: datetime.date | None = None, starts_to: datetime.date | None = None,
                                search: str | None = None) -> ResearchProjectConnection | None:
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.science.fetch(
            "science/research_projects_page", page.after_id, page.fetch, field, like_prefix(industry_code_prefix),
            lead_enterprise_uscc, partner_school_code, starts_from, starts_to, like_contains(search))
        return build_connection(ResearchProjectConnection, rows, page, research_project_from_row)

    @strawberry.field(description="A research project by its code; null when unknown.")
    async def research_project(self, info: strawberry.Info, code: str) -> ResearchProject | None:
        return await info.context.loader(ResearchProjectByCodeLoader).load(code)

    @strawberry.field(description="Technology transfers, filtered by project and transfer date.")
    async def tech_transfers(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                             project_code: str | None = None, transferred_from: datetime.date | None = None,
                             transferred_to: datetime.date | None = None) -> TechTransferConnection | None:
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.science.fetch("science/tech_transfers_page", page.after_id, page.fetch,
                                          project_code, transferred_from, transferred_to)
        return build_connection(TechTransferConnection, rows, page, tech_transfer_from_row)

    @strawberry.field(description="Innovation platforms, filtered by district and kind.")
    async def innovation_platforms(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                                   district: str | None = None,
                                   kind: InnovationPlatformKind | None = None) -> InnovationPlatformConnection | None:
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.science.fetch("science/innovation_platforms_page", page.after_id, page.fetch,
                                          district, kind.value if kind else None)
        return build_connection(InnovationPlatformConnection, rows, page, innovation_platform_from_row)
