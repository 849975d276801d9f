"""science root fields."""

from __future__ import annotations

import datetime

import strawberry

from hub.api.pagination import like_contains, like_prefix
from hub.api.specs import RootByKey, RootPage
from resolvers.science.loaders import ResearchProjectByCodeLoader
from resolvers.science.types import (
    InnovationPlatformConnection,
    InnovationPlatformKind,
    ResearchProject,
    ResearchProjectConnection,
    TechTransferConnection,
    innovation_platform_from_row,
    research_project_from_row,
    tech_transfer_from_row,
)

RESEARCH_PROJECTS = RootPage(
    "researchProjects", dept="science", query="science/research_projects_page",
    params=(("field", None), ("industry_code_prefix", like_prefix), ("lead_enterprise_uscc", None),
            ("partner_school_code", None), ("starts_from", None), ("starts_to", None), ("search", like_contains)),
    connection=ResearchProjectConnection, convert=research_project_from_row)
TECH_TRANSFERS = RootPage("techTransfers", dept="science", query="science/tech_transfers_page",
                          params=(("project_code", None), ("transferred_from", None), ("transferred_to", None)),
                          connection=TechTransferConnection, convert=tech_transfer_from_row)
INNOVATION_PLATFORMS = RootPage("innovationPlatforms", dept="science", query="science/innovation_platforms_page",
                                params=(("district", None), ("kind", None)),
                                connection=InnovationPlatformConnection, convert=innovation_platform_from_row)
RESEARCH_PROJECT = RootByKey("researchProject", loader=ResearchProjectByCodeLoader, argument="code")


@strawberry.type
class ScienceQuery:
    @strawberry.field(description="Research projects, filtered by field, industry-code prefix, lead enterprise, "
                                  "partner school, start date or title.")
    async def research_projects(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                                field: str | None = None, industry_code_prefix: str | None = None,
                                lead_enterprise_uscc: str | None = None, partner_school_code: str | None = None,
                                starts_from: datetime.date | None = None, starts_to: datetime.date | None = None,
                                search: str | None = None) -> ResearchProjectConnection | None:
        return await RESEARCH_PROJECTS.fetch(info.context, locals())

    @strawberry.field(description="A research project by its code; null when unknown.")
    async def research_project(self, info: strawberry.Info, code: str) -> ResearchProject | None:
        return await RESEARCH_PROJECT.fetch(info.context, locals())

    @strawberry.field(description="Technology transfers, filtered by project and transfer date.")
    async def tech_transfers(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                             project_code: str | None = None, transferred_from: datetime.date | None = None,
                             transferred_to: datetime.date | None = None) -> TechTransferConnection | None:
        return await TECH_TRANSFERS.fetch(info.context, locals())

    @strawberry.field(description="Innovation platforms, filtered by district and kind.")
    async def innovation_platforms(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                                   district: str | None = None,
                                   kind: InnovationPlatformKind | None = None) -> InnovationPlatformConnection | None:
        return await INNOVATION_PLATFORMS.fetch(info.context, locals())
