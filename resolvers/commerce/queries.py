"""commerce root fields."""

from __future__ import annotations

import datetime

import strawberry

from hub.pagination import build_connection, like_contains, like_prefix
from resolvers.commerce.loaders import EnterpriseByUsccLoader, IndustryByCodeLoader
from resolvers.commerce.types import (
    Enterprise, EnterpriseConnection, EnterpriseSize, Industry, IndustryConnection, InvestmentProjectConnection,
    ParkConnection, enterprise_from_row, industry_from_row, investment_project_from_row, park_from_row,
)


@strawberry.type
class CommerceQuery:
    @strawberry.field(description="Industries of GB/T 4754, filtered by code prefix, level or name.")
    async def industries(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                         code_prefix: str | None = None, level: int | None = None,
                         search: str | None = None) -> IndustryConnection | None:
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.commerce.fetch("commerce/industries_page", page.after_id, page.fetch,
                                           like_prefix(code_prefix), level, like_contains(search))
        return build_connection(IndustryConnection, rows, page, industry_from_row)

    @strawberry.field(description="An industry by its GB/T 4754 code; null when unknown.")
    async def industry(self, info: strawberry.Info, code: str) -> Industry | None:
        return await info.context.loader(IndustryByCodeLoader).load(code)

    @strawberry.field(description="Enterprises, filtered by district, industry-code prefix, name, founding date, size.")
    async def enterprises(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                          district: str | None = None, industry_code_prefix: str | None = None,
                          search: str | None = None, founded_from: datetime.date | None = None,
                          founded_to: datetime.date | None = None,
                          size: EnterpriseSize | None = None) -> EnterpriseConnection | None:
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.commerce.fetch(
            "commerce/enterprises_page", page.after_id, page.fetch, district, like_prefix(industry_code_prefix),
            like_contains(search), founded_from, founded_to, size.value if size else None)
        return build_connection(EnterpriseConnection, rows, page, enterprise_from_row)

    @strawberry.field(description="An enterprise by unified social credit code; null when unknown.")
    async def enterprise(self, info: strawberry.Info, uscc: str) -> Enterprise | None:
        return await info.context.loader(EnterpriseByUsccLoader).load(uscc)

    @strawberry.field(description="Industrial parks.")
    async def parks(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                    district: str | None = None) -> ParkConnection | None:
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.commerce.fetch("commerce/parks_page", page.after_id, page.fetch, district)
        return build_connection(ParkConnection, rows, page, park_from_row)

    @strawberry.field(description="Major investment projects, filtered by park and start date.")
    async def investment_projects(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                                  park_code: str | None = None, starts_from: datetime.date | None = None,
                                  starts_to: datetime.date | None = None) -> InvestmentProjectConnection | None:
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.commerce.fetch("commerce/investment_projects_page", page.after_id, page.fetch,
                                           park_code, starts_from, starts_to)
        return build_connection(InvestmentProjectConnection, rows, page, investment_project_from_row)
