"""education GraphQL types of the plan's sources (issue 16): specialty teachers, school-enterprise bases, major and
school designations. Scalar fields are plain attributes; joins go through DataLoaders (by school code, and by
commerce's USCC for a base's partner enterprise)."""

from __future__ import annotations

import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.api.loaders import row_converter
from hub.api.specs import join_value
from hub.api.pagination import Connection

if TYPE_CHECKING:
    from resolvers.commerce.types import Enterprise
    from resolvers.education.types import School


SchoolRef = Annotated["School", strawberry.lazy("resolvers.education.types")]


@strawberry.type(description="A specialty teacher (专业教师) of a vocational school. The name is personal: masked for "
                             "every reader but education unless a grant names it.")
class SpecialtyTeacher:
    id: strawberry.Private[int]
    staff_no: str = strawberry.field(description="Education's teacher register number.")
    name: str
    school_code: str
    major_code: str | None = strawberry.field(description="The specialty taught (major catalog code).")
    dual_qualified: bool = strawberry.field(description="Dual-qualified (双师型): a teacher and a practitioner.")
    dual_qualified_since: int | None = strawberry.field(description="The year the teacher became dual-qualified.")
    hired_on: datetime.date
    left_on: datetime.date | None = strawberry.field(description="The day the teacher left the school (null: on its "
                                                                 "staff).")

    @strawberry.field
    async def school(self, info: strawberry.Info) -> SchoolRef | None:
        return await join_value(info, self)


@strawberry.enum(description="Kind of school-enterprise base.")
class BaseKind(Enum):
    DOUBLE_BASE = "DOUBLE_BASE"      # 校企双基地
    TRAINING_BASE = "TRAINING_BASE"  # 产教融合实训基地


@strawberry.type(description="A school-enterprise base: a school and a partner enterprise (by its USCC).")
class SchoolEnterpriseBase:
    id: strawberry.Private[int]
    code: str
    name: str
    kind: BaseKind
    school_code: str
    enterprise_uscc: str
    established_year: int

    @strawberry.field
    async def school(self, info: strawberry.Info) -> SchoolRef | None:
        return await join_value(info, self)

    @strawberry.field(description="The partner enterprise (commerce).")
    async def enterprise(self, info: strawberry.Info
                         ) -> Annotated["Enterprise", strawberry.lazy("resolvers.commerce.types")] | None:
        return await join_value(info, self)


@strawberry.enum(description="Designation of a school's major.")
class MajorDesignationKind(Enum):
    KEY_GROUP = "KEY_GROUP"                    # 骨干专业群
    SHORTAGE_SPECIALTY = "SHORTAGE_SPECIALTY"  # 产业急需紧缺骨干特色专业点
    APPRENTICESHIP = "APPRENTICESHIP"          # 现代学徒制专业点


@strawberry.type(description="A school's major designated by education in a year.")
class MajorDesignation:
    id: strawberry.Private[int]
    school_code: str
    major_code: str
    kind: MajorDesignationKind
    year: int

    @strawberry.field
    async def school(self, info: strawberry.Info) -> SchoolRef | None:
        return await join_value(info, self)


@strawberry.enum(description="Designation of a school.")
class SchoolDesignationKind(Enum):
    CITY_HIGH_STANDARD = "CITY_HIGH_STANDARD"  # 市级高水平中职学校


@strawberry.type(description="A school designated by education in a year.")
class SchoolDesignation:
    id: strawberry.Private[int]
    school_code: str
    kind: SchoolDesignationKind
    year: int

    @strawberry.field
    async def school(self, info: strawberry.Info) -> SchoolRef | None:
        return await join_value(info, self)


@strawberry.type
class SpecialtyTeacherConnection(Connection[SpecialtyTeacher]):
    pass


@strawberry.type
class SchoolEnterpriseBaseConnection(Connection[SchoolEnterpriseBase]):
    pass


@strawberry.type
class MajorDesignationConnection(Connection[MajorDesignation]):
    pass


@strawberry.type
class SchoolDesignationConnection(Connection[SchoolDesignation]):
    pass


teacher_from_row = row_converter(SpecialtyTeacher)
base_from_row = row_converter(SchoolEnterpriseBase)
major_designation_from_row = row_converter(MajorDesignation)
school_designation_from_row = row_converter(SchoolDesignation)
