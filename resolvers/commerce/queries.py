"""commerce root fields. Each is answered through its spec (``hub.api.specs``), shared with the compiled path."""

from __future__ import annotations

import datetime

import strawberry

from hub.api.pagination import like_contains, like_prefix
from hub.api.specs import RootByKey, RootPage
from resolvers.commerce.loaders import EnterpriseByUsccLoader, IndustryByCodeLoader
from resolvers.commerce.types import (
    Enterprise,
    EnterpriseConnection,
    EnterpriseSize,
    Industry,
    IndustryConnection,
    InvestmentProjectConnection,
    ParkConnection,
    enterprise_from_row,
    industry_from_row,
    investment_project_from_row,
    park_from_row,
)

INDUSTRIES = RootPage("industries", dept="commerce", query="commerce/industries_page",
                      params=(("code_prefix", like_prefix), ("level", None), ("search", like_contains)),
                      connection=IndustryConnection, convert=industry_from_row)
ENTERPRISES = RootPage("enterprises", dept="commerce", query="commerce/enterprises_page",
                       params=(("district", None), ("industry_code_prefix", like_prefix), ("search", like_contains),
                               ("founded_from", None), ("founded_to", None), ("size", None)),
                       connection=EnterpriseConnection, convert=enterprise_from_row)
PARKS = RootPage("parks", dept="commerce", query="commerce/parks_page", params=(("district", None),),
                 connection=ParkConnection, convert=park_from_row)
INVESTMENT_PROJECTS = RootPage("investmentProjects", dept="commerce", query="commerce/investment_projects_page",
                               params=(("park_code", None), ("starts_from", None), ("starts_to", None)),
                               connection=InvestmentProjectConnection, convert=investment_project_from_row)
INDUSTRY = RootByKey("industry", loader=IndustryByCodeLoader, argument="code")
ENTERPRISE = RootByKey("enterprise", loader=EnterpriseByUsccLoader, argument="uscc")


@strawberry.type
class CommerceQuery:
    @strawberry.field(description="Industries of GB/T 4754, filtered by code prefix, level or name.")
    async def industries(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                         code_prefix: str | None = None, level: int | None = None,
                         search: str | None = None) -> IndustryConnection | None:
        return await INDUSTRIES.fetch(info.context, locals())

    @strawberry.field(description="An industry by its GB/T 4754 code; null when unknown.")
    async def industry(self, info: strawberry.Info, code: str) -> Industry | None:
        return await INDUSTRY.fetch(info.context, locals())

    @strawberry.field(description="Enterprises, filtered by district, industry-code prefix, name, founding date, size.")
    async def enterprises(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                          district: str | None = None, industry_code_prefix: str | None = None,
                          search: str | None = None, founded_from: datetime.date | None = None,
                          founded_to: datetime.date | None = None,
                          size: EnterpriseSize | None = None) -> EnterpriseConnection | None:
        return await ENTERPRISES.fetch(info.context, locals())

    @strawberry.field(description="An enterprise by unified social credit code; null when unknown.")
    async def enterprise(self, info: strawberry.Info, uscc: str) -> Enterprise | None:
        return await ENTERPRISE.fetch(info.context, locals())

    @strawberry.field(description="Industrial parks.")
    async def parks(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                    district: str | None = None) -> ParkConnection | None:
        return await PARKS.fetch(info.context, locals())

    @strawberry.field(description="Major investment projects, filtered by park and start date.")
    async def investment_projects(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                                  park_code: str | None = None, starts_from: datetime.date | None = None,
                                  starts_to: datetime.date | None = None) -> InvestmentProjectConnection | None:
        return await INVESTMENT_PROJECTS.fetch(info.context, locals())
