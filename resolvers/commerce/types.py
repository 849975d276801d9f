"""commerce GraphQL types. Scalar fields are plain attributes; joins go through DataLoaders."""

from __future__ import annotations

import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.api.loaders import row_converter
from hub.api.pagination import Connection
from hub.api.specs import join_value

if TYPE_CHECKING:
    from resolvers.education.plan_types import SchoolEnterpriseBase
    from resolvers.education.types import Major
    from resolvers.labor.types import JobPostingConnection
    from resolvers.science.types import ResearchProjectConnection


@strawberry.enum(description="Enterprise size class.")
class EnterpriseSize(Enum):
    MICRO = "MICRO"
    SMALL = "SMALL"
    MEDIUM = "MEDIUM"
    LARGE = "LARGE"


@strawberry.type(description="An industry of the GB/T 4754 classification (section letter or 2/3/4-digit class).")
class Industry:
    id: strawberry.Private[int]
    code: str
    name: str
    level: int = strawberry.field(description="1 = section (letter), 2 = division, 3 = group, 4 = class.")
    parent_code: str | None

    @strawberry.field
    async def parent(self, info: strawberry.Info) -> Industry | None:
        return await join_value(info, self)

    @strawberry.field
    async def children(self, info: strawberry.Info) -> list[Industry] | None:
        return await join_value(info, self)

    @strawberry.field(description="Enterprises classified in this industry or below it.")
    async def enterprises(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                          district: str | None = None) -> EnterpriseConnection | None:
        from resolvers.commerce.specs import INDUSTRY_ENTERPRISES  # deferred import: cycle types<->specs (specs.py imports types.py)

        return await INDUSTRY_ENTERPRISES.one(info.context, self, locals())

    @strawberry.field(description="Majors (education) mapped to this industry, to an industry below it or "
                                  "above it. A section covers the majors of its divisions.")
    async def majors(self, info: strawberry.Info) -> list[Annotated["Major", strawberry.lazy("resolvers.education.types")]] | None:
        return await join_value(info, self)


@strawberry.type(description="An enterprise, identified by its unified social credit code (GB 32100).")
class Enterprise:
    id: strawberry.Private[int]
    uscc: str
    name: str
    industry_code: str
    district_code: str
    size: EnterpriseSize
    founded_on: datetime.date
    integration: bool = strawberry.field(description="Industry-education integration enterprise.")
    integration_certified_year: int | None = strawberry.field(
        description="The year it was certified as an industry-education integration enterprise (产教融合型企业); "
                    "null: not certified, or the register does not keep the year.")

    @strawberry.field
    async def industry(self, info: strawberry.Info) -> Industry | None:
        return await join_value(info, self)

    @strawberry.field(description="Job postings (labor) of this enterprise.")
    async def postings(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
    ) -> Annotated["JobPostingConnection", strawberry.lazy("resolvers.labor.types")] | None:
        from resolvers.commerce.specs import ENTERPRISE_POSTINGS  # deferred import: cycle types<->specs (specs.py imports types.py)

        return await ENTERPRISE_POSTINGS.one(info.context, self, locals())

    @strawberry.field(description="Research projects (science) this enterprise leads.")
    async def research_projects(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
    ) -> Annotated["ResearchProjectConnection", strawberry.lazy("resolvers.science.types")] | None:
        from resolvers.commerce.specs import ENTERPRISE_RESEARCH  # deferred import: cycle types<->specs (specs.py imports types.py)

        return await ENTERPRISE_RESEARCH.one(info.context, self, locals())

    @strawberry.field(description="School-enterprise bases (education) this enterprise is the partner of.")
    async def school_bases(
        self, info: strawberry.Info,
    ) -> list[Annotated["SchoolEnterpriseBase", strawberry.lazy("resolvers.education.plan_types")]] | None:
        return await join_value(info, self)

    @strawberry.field(description="Major investment projects of this enterprise (a NOT_SHARED dataset).")
    async def investment_projects(self, info: strawberry.Info) -> list[InvestmentProject] | None:
        return await join_value(info, self)


@strawberry.type(description="An industrial park.")
class Park:
    id: strawberry.Private[int]
    code: str
    name: str
    district_code: str
    area_hectares: float


@strawberry.type(description="A major investment project.")
class InvestmentProject:
    id: strawberry.Private[int]
    code: str
    name: str
    enterprise_uscc: str
    park_code: str | None
    amount_wan: float = strawberry.field(description="Amount in 10,000 yuan.")
    starts_on: datetime.date

    @strawberry.field
    async def enterprise(self, info: strawberry.Info) -> Enterprise | None:
        return await join_value(info, self)

    @strawberry.field
    async def park(self, info: strawberry.Info) -> Park | None:
        return await join_value(info, self)


@strawberry.type
class IndustryConnection(Connection[Industry]):
    pass


@strawberry.type
class EnterpriseConnection(Connection[Enterprise]):
    pass


@strawberry.type
class ParkConnection(Connection[Park]):
    pass


@strawberry.type
class InvestmentProjectConnection(Connection[InvestmentProject]):
    pass


industry_from_row = row_converter(Industry)
enterprise_from_row = row_converter(Enterprise)
park_from_row = row_converter(Park)
investment_project_from_row = row_converter(InvestmentProject)
