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
    from resolvers.education.plan_types import (
        MajorDesignation, SchoolDesignation, SchoolEnterpriseBase, SpecialtyTeacherConnection,
    )
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
        from resolvers.education.specs import SCHOOL_RESEARCH  # deferred import: cycle types<->specs (specs.py imports types.py)

        return await SCHOOL_RESEARCH.one(info.context, self, locals())

    @strawberry.field(description="The school's specialty teachers (CONDITIONAL), optionally only the dual-qualified "
                                  "ones (or the others).")
    async def specialty_teachers(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        dual_qualified: bool | None = None,
    ) -> Annotated["SpecialtyTeacherConnection", strawberry.lazy("resolvers.education.plan_types")] | None:
        from resolvers.education.plan_specs import SCHOOL_TEACHERS  # deferred import: cycle types<->specs (plan_specs.py imports the types)

        return await SCHOOL_TEACHERS.one(info.context, self, locals())

    @strawberry.field(description="The school's school-enterprise bases, oldest first.")
    async def enterprise_bases(
        self, info: strawberry.Info,
    ) -> list[Annotated["SchoolEnterpriseBase", strawberry.lazy("resolvers.education.plan_types")]] | None:
        return await join_value(info, self)

    @strawberry.field(description="The school's designations (e.g. city-level high-standard school), by year.")
    async def designations(
        self, info: strawberry.Info,
    ) -> list[Annotated["SchoolDesignation", strawberry.lazy("resolvers.education.plan_types")]] | None:
        return await join_value(info, self)


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
        return await join_value(info, self)

    @strawberry.field(description="Occupations (labor) the catalog major is mapped to.")
    async def occupations(
        self, info: strawberry.Info,
    ) -> list[Annotated["Occupation", strawberry.lazy("resolvers.labor.types")]] | None:
        return await join_value(info, self)

    @strawberry.field(description="Yearly enrollment, graduates and employment, in year order.")
    async def outcomes(self, info: strawberry.Info) -> list[MajorOutcome] | None:
        return await join_value(info, self)

    @strawberry.field(description="Designations of this school's major (key major group, shortage-industry "
                                  "specialty, modern apprenticeship), by year.")
    async def designations(
        self, info: strawberry.Info,
    ) -> list[Annotated["MajorDesignation", strawberry.lazy("resolvers.education.plan_types")]] | None:
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
