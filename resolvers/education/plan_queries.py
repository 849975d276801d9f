"""education root fields of the plan's sources (issue 16), answered through their specs (``hub.specs``)."""

from __future__ import annotations

import strawberry

from hub.api.pagination import like_contains
from hub.api.specs import RootPage
from resolvers.education.plan_types import (
    BaseKind, MajorDesignationConnection, MajorDesignationKind, SchoolDesignationConnection, SchoolDesignationKind,
    SchoolEnterpriseBaseConnection, SpecialtyTeacherConnection, base_from_row, major_designation_from_row,
    school_designation_from_row, teacher_from_row,
)

TEACHERS = RootPage("specialtyTeachers", dept="education", query="education/specialty_teachers_page",
                    params=(("school_code", None), ("major_code", None), ("dual_qualified", None),
                            ("search", like_contains)),
                    connection=SpecialtyTeacherConnection, convert=teacher_from_row)
BASES = RootPage("schoolEnterpriseBases", dept="education", query="education/school_enterprise_bases_page",
                 params=(("kind", None), ("school_code", None), ("enterprise_uscc", None)),
                 connection=SchoolEnterpriseBaseConnection, convert=base_from_row)
MAJOR_DESIGNATIONS = RootPage("majorDesignations", dept="education", query="education/major_designations_page",
                              params=(("kind", None), ("school_code", None), ("major_code", None)),
                              connection=MajorDesignationConnection, convert=major_designation_from_row)
SCHOOL_DESIGNATIONS = RootPage("schoolDesignations", dept="education", query="education/school_designations_page",
                               params=(("kind", None),), connection=SchoolDesignationConnection,
                               convert=school_designation_from_row)


@strawberry.type
class EducationPlanQuery:
    @strawberry.field(description="Specialty teachers (CONDITIONAL: names are personal), filtered by school, "
                                  "specialty, the dual-qualified flag or name (only by readers who see names in "
                                  "clear).")
    async def specialty_teachers(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                                 school_code: str | None = None, major_code: str | None = None,
                                 dual_qualified: bool | None = None,
                                 search: str | None = None) -> SpecialtyTeacherConnection | None:
        return await TEACHERS.fetch(info.context, locals())

    @strawberry.field(description="School-enterprise bases (double bases and industry-education training bases), "
                                  "filtered by kind, school or partner enterprise.")
    async def school_enterprise_bases(self, info: strawberry.Info, first: int | None = None,
                                      after: str | None = None, kind: BaseKind | None = None,
                                      school_code: str | None = None,
                                      enterprise_uscc: str | None = None) -> SchoolEnterpriseBaseConnection | None:
        return await BASES.fetch(info.context, locals())

    @strawberry.field(description="Designations of schools' majors (key major groups, shortage-industry specialty "
                                  "majors, modern-apprenticeship majors), filtered by kind, school or major code.")
    async def major_designations(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                                 kind: MajorDesignationKind | None = None, school_code: str | None = None,
                                 major_code: str | None = None) -> MajorDesignationConnection | None:
        return await MAJOR_DESIGNATIONS.fetch(info.context, locals())

    @strawberry.field(description="Designations of schools (city-level high-standard vocational schools).")
    async def school_designations(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                                  kind: SchoolDesignationKind | None = None) -> SchoolDesignationConnection | None:
        return await SCHOOL_DESIGNATIONS.fetch(info.context, locals())
