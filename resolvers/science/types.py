"""science GraphQL types. Scalar fields are plain attributes; joins go through DataLoaders."""

from __future__ import annotations

import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.api.loaders import row_converter
from hub.api.pagination import Connection
from hub.api.specs import join_value

if TYPE_CHECKING:
    from resolvers.commerce.types import Enterprise, Industry
    from resolvers.education.types import School


@strawberry.enum(description="Kind of innovation platform.")
class InnovationPlatformKind(Enum):
    KEY_LAB = "KEY_LAB"
    ENGINEERING_CENTER = "ENGINEERING_CENTER"
    INCUBATOR = "INCUBATOR"
    SKILL_MASTER_STUDIO = "SKILL_MASTER_STUDIO"
    TRAINING_BASE = "TRAINING_BASE"


@strawberry.enum(description="Level of government that recognised an innovation platform.")
class InnovationPlatformLevel(Enum):
    NATIONAL = "NATIONAL"
    PROVINCIAL = "PROVINCIAL"
    MUNICIPAL = "MUNICIPAL"
    DISTRICT = "DISTRICT"


@strawberry.type(description="A research project, led by an enterprise and/or a partner school.")
class ResearchProject:
    id: strawberry.Private[int]
    code: str
    title: str
    lead_enterprise_uscc: str | None
    partner_school_code: str | None
    industry_code: str | None
    field: str
    budget_wan: float = strawberry.field(description="Budget in 10,000 yuan.")
    starts_on: datetime.date
    ends_on: datetime.date | None

    @strawberry.field(description="The lead enterprise (commerce).")
    async def lead_enterprise(
        self, info: strawberry.Info,
    ) -> Annotated["Enterprise", strawberry.lazy("resolvers.commerce.types")] | None:
        return await join_value(info, self)

    @strawberry.field(description="The partner school (education).")
    async def partner_school(
        self, info: strawberry.Info,
    ) -> Annotated["School", strawberry.lazy("resolvers.education.types")] | None:
        return await join_value(info, self)

    @strawberry.field(description="The industry (commerce, GB/T 4754) the project serves.")
    async def industry(
        self, info: strawberry.Info,
    ) -> Annotated["Industry", strawberry.lazy("resolvers.commerce.types")] | None:
        return await join_value(info, self)

    @strawberry.field(description="Technology transfers of this project's results.")
    async def transfers(self, info: strawberry.Info) -> list[TechTransfer] | None:
        return await join_value(info, self)


@strawberry.type(description="A technology-transfer result of a research project.")
class TechTransfer:
    id: strawberry.Private[int]
    code: str
    project_code: str
    title: str
    buyer_uscc: str | None
    amount_wan: float = strawberry.field(description="Amount in 10,000 yuan.")
    transferred_on: datetime.date

    @strawberry.field
    async def project(self, info: strawberry.Info) -> ResearchProject | None:
        return await join_value(info, self)

    @strawberry.field(description="The buying enterprise (commerce).")
    async def buyer(
        self, info: strawberry.Info,
    ) -> Annotated["Enterprise", strawberry.lazy("resolvers.commerce.types")] | None:
        return await join_value(info, self)


@strawberry.type(description="An innovation platform hosted by an enterprise and/or a school.")
class InnovationPlatform:
    id: strawberry.Private[int]
    code: str
    name: str
    kind: InnovationPlatformKind
    level: InnovationPlatformLevel
    host_uscc: str | None
    host_school_code: str | None
    district_code: str
    established_on: datetime.date

    @strawberry.field(description="The host enterprise (commerce).")
    async def host_enterprise(
        self, info: strawberry.Info,
    ) -> Annotated["Enterprise", strawberry.lazy("resolvers.commerce.types")] | None:
        return await join_value(info, self)

    @strawberry.field(description="The host school (education).")
    async def host_school(
        self, info: strawberry.Info,
    ) -> Annotated["School", strawberry.lazy("resolvers.education.types")] | None:
        return await join_value(info, self)


@strawberry.type
class ResearchProjectConnection(Connection[ResearchProject]):
    pass


@strawberry.type
class TechTransferConnection(Connection[TechTransfer]):
    pass


@strawberry.type
class InnovationPlatformConnection(Connection[InnovationPlatform]):
    pass


research_project_from_row = row_converter(ResearchProject)
tech_transfer_from_row = row_converter(TechTransfer)
innovation_platform_from_row = row_converter(InnovationPlatform)
