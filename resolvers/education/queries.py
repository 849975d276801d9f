"""education root fields."""

from __future__ import annotations

import strawberry

from hub.api.pagination import like_contains, like_prefix
from hub.api.specs import RootByKey, RootPage
from hub.errors import BadUserInput
from resolvers.education.loaders import MajorsByCodeLoader, SchoolByCodeLoader
from resolvers.education.types import (
    Major,
    MajorConnection,
    School,
    SchoolConnection,
    SchoolKind,
    major_from_row,
    school_from_row,
)

SCHOOLS = RootPage("schools", dept="education", query="education/schools_page",
                   params=(("district", None), ("kind", None), ("search", like_contains)),
                   connection=SchoolConnection, convert=school_from_row)
MAJORS = RootPage("majors", dept="education", query="education/majors_page",
                  params=(("code_prefix", like_prefix), ("school_code", None), ("search", like_contains)),
                  connection=MajorConnection, convert=major_from_row)
SCHOOL = RootByKey("school", loader=SchoolByCodeLoader, argument="code")


@strawberry.type
class EducationQuery:
    @strawberry.field(description="Vocational schools, filtered by district, kind or name.")
    async def schools(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                      district: str | None = None, kind: SchoolKind | None = None,
                      search: str | None = None) -> SchoolConnection | None:
        return await SCHOOLS.fetch(info.context, locals())

    @strawberry.field(description="A school by its 10-digit code; null when unknown.")
    async def school(self, info: strawberry.Info, code: str) -> School | None:
        return await SCHOOL.fetch(info.context, locals())

    @strawberry.field(description="Majors (schools' offerings), filtered by catalog-code prefix, school or name.")
    async def majors(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                     code_prefix: str | None = None, school_code: str | None = None,
                     search: str | None = None) -> MajorConnection | None:
        return await MAJORS.fetch(info.context, locals())

    @strawberry.field(description="A school's offering of a catalog major; schoolCode may be omitted when only "
                                  "one school offers the code. Null when unknown.")
    async def major(self, info: strawberry.Info, code: str, school_code: str | None = None) -> Major | None:
        offerings = await info.context.loader(MajorsByCodeLoader).load(code)
        if school_code is not None:
            return next((m for m in offerings if m.school_code == school_code), None)
        if not offerings:
            return None
        if len(offerings) > 1:
            schools = [m.school_code for m in offerings]
            named = ", ".join(schools[:10]) + (", ..." if len(schools) > 10 else "")
            raise BadUserInput(f"major {code} is offered by {len(schools)} schools ({named}); pass schoolCode",
                               argument="schoolCode", schoolCodes=schools)
        return offerings[0]
