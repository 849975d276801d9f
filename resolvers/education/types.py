"""education GraphQL types. Scalar fields are plain attributes; joins go through DataLoaders."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from hub.api.loaders import row_converter
from hub.api.pagination import Connection
from hub.api.specs import join_value

if TYPE_CHECKING:
    from resolvers.commerce.types import Industry
    from resolvers.labor.types import Occupation
    from resolvers.science.types import ResearchProjectConnection


@strawberry.enum(description="Kind of vocational school.")
class SchoolKind(Enum):
    SECONDARY_VOCATIONAL = "SECONDARY_VOCATIONAL"
    HIGHER_VOCATIONAL = "HIGHER_VOCATIONAL"
    VOCATIONAL_UNDERGRADUATE = "VOCATIONAL_UNDERGRADUATE"
    TECHNICIAN = "TECHNICIAN"


@strawberry.type(description="A vocational school, identified by its 10-digit school code.")
class School:
    id: strawberry.Private[int]
    code: str
    name: str
    kind: SchoolKind
    district_code: str

    @strawberry.field(description="Majors this school offers, in major-code order.")
    async def majors(self, info: strawberry.Info) -> list[Major] | None:
        return await join_value(info, self)

    @strawberry.field(description="Research projects (science) this school partners in.")
    async def research_projects(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
    ) -> Annotated["ResearchProjectConnection", strawberry.lazy("resolvers.science.types")] | None:
        from resolvers.education.specs import SCHOOL_RESEARCH

        return await SCHOOL_RESEARCH.one(info.context, self, locals())


@strawberry.type(description="A school's offering of a vocational major catalog code.")
class Major:
    id: strawberry.Private[int]
    code: str = strawberry.field(description="6-digit vocational major catalog code.")
    name: str
    school_code: str

    @strawberry.field
    async def school(self, info: strawberry.Info) -> School | None:
        return await join_value(info, self)

    @strawberry.field(description="Industries (commerce, GB/T 4754) the catalog major is mapped to.")
    async def industries(
        self, info: strawberry.Info,
    ) -> list[Annotated["Industry", strawberry.lazy("resolvers.commerce.types")]] | None:
        from resolvers.commerce.loaders import IndustryByCodeLoader
        from resolvers.education.loaders import IndustryCodesByMajorLoader

        ctx = info.context
        codes = await ctx.loader(IndustryCodesByMajorLoader).load(self.code)
        industries = await ctx.loader(IndustryByCodeLoader).load_many(codes)
        return [i for i in industries if i is not None]

    @strawberry.field(description="Occupations (labor) the catalog major is mapped to.")
    async def occupations(
        self, info: strawberry.Info,
    ) -> list[Annotated["Occupation", strawberry.lazy("resolvers.labor.types")]] | None:
        from resolvers.education.loaders import OccupationCodesByMajorLoader
        from resolvers.labor.loaders import OccupationByCodeLoader

        ctx = info.context
        codes = await ctx.loader(OccupationCodesByMajorLoader).load(self.code)
        occupations = await ctx.loader(OccupationByCodeLoader).load_many(codes)
        return [o for o in occupations if o is not None]

    @strawberry.field(description="Yearly enrollment, graduates and employment, in year order.")
    async def outcomes(self, info: strawberry.Info) -> list[MajorOutcome] | None:
        return await join_value(info, self)


@strawberry.type(description="One year of a major's enrollment, graduates and employment.")
class MajorOutcome:
    id: strawberry.Private[int]
    year: int
    enrollment: int
    graduates: int
    employed: int
    employment_rate: float | None = strawberry.field(
        description="employed / graduates; null when there were no graduates.")


@strawberry.type
class SchoolConnection(Connection[School]):
    pass


@strawberry.type
class MajorConnection(Connection[Major]):
    pass


school_from_row = row_converter(School)
major_from_row = row_converter(Major)


def major_outcome_from_row(row: Any) -> MajorOutcome:
    graduates = row["graduates"]
    return MajorOutcome(
        id=row["id"],
        year=row["year"],
        enrollment=row["enrollment"],
        graduates=graduates,
        employed=row["employed"],
        employment_rate=row["employed"] / graduates if graduates else None,
    )
