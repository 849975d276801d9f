"""labor GraphQL types. Scalar fields are plain attributes; joins go through DataLoaders."""

from __future__ import annotations

import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.api.loaders import row_converter
from hub.api.pagination import Connection
from hub.api.specs import join_value

if TYPE_CHECKING:
    from resolvers.commerce.types import Enterprise


@strawberry.enum(description="Highest education completed or required.")
class EducationLevel(Enum):
    NONE = "NONE"
    JUNIOR_HIGH = "JUNIOR_HIGH"
    HIGH_SCHOOL = "HIGH_SCHOOL"
    SECONDARY_VOCATIONAL = "SECONDARY_VOCATIONAL"
    JUNIOR_COLLEGE = "JUNIOR_COLLEGE"
    BACHELOR = "BACHELOR"
    MASTER = "MASTER"


@strawberry.enum
class Gender(Enum):
    F = "F"
    M = "M"


@strawberry.type(description="An occupation of the national occupational classification (e.g. 6-18-01-01).")
class Occupation:
    id: strawberry.Private[int]
    code: str
    name: str
    major_group: int = strawberry.field(description="Major group 1-8 (first digit of the code).")

    @strawberry.field(description="Job postings (demand) for this occupation.")
    async def postings(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                       district: str | None = None, skill_level: int | None = None,
                       posted_from: datetime.date | None = None,
                       posted_to: datetime.date | None = None) -> JobPostingConnection | None:
        from resolvers.labor.specs import OCCUPATION_POSTINGS  # deferred import: cycle types<->specs (specs.py imports types.py)

        return await OCCUPATION_POSTINGS.one(info.context, self, locals())

    @strawberry.field(description="Number of job postings for this occupation.")
    async def posting_count(self, info: strawberry.Info) -> int | None:
        return await join_value(info, self)

    @strawberry.field(description="Job seekers (supply) looking for this occupation.")
    async def seekers(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                      district: str | None = None) -> JobSeekerConnection | None:
        from resolvers.labor.specs import OCCUPATION_SEEKERS  # deferred import: cycle types<->specs (specs.py imports types.py)

        return await OCCUPATION_SEEKERS.one(info.context, self, locals())

    @strawberry.field(description="Skills-training programs for this occupation.")
    async def training_programs(self, info: strawberry.Info, first: int | None = None,
                                after: str | None = None) -> TrainingProgramConnection | None:
        from resolvers.labor.specs import OCCUPATION_TRAINING  # deferred import: cycle types<->specs (specs.py imports types.py)

        return await OCCUPATION_TRAINING.one(info.context, self, locals())


@strawberry.type(description="A job posting (demand): an enterprise seeks `headcount` workers for an occupation.")
class JobPosting:
    id: int
    title: str
    enterprise_uscc: str
    occupation_code: str
    headcount: int
    wage_min: int = strawberry.field(description="Monthly wage, yuan.")
    wage_max: int
    education: EducationLevel
    skill_level: int | None = strawberry.field(description="Required skill level 1 (highest) to 5.")
    district_code: str
    posted_on: datetime.date
    closes_on: datetime.date | None = strawberry.field(description="Null while the posting is open.")

    @strawberry.field(description="The posting enterprise (commerce).")
    async def enterprise(self, info: strawberry.Info) -> Annotated["Enterprise", strawberry.lazy("resolvers.commerce.types")] | None:
        return await join_value(info, self)

    @strawberry.field
    async def occupation(self, info: strawberry.Info) -> Occupation | None:
        return await join_value(info, self)


@strawberry.type(description="A registered job seeker (supply). name, idNumber and phone are personal fields.")
class JobSeeker:
    id: int
    name: str
    id_number: str
    phone: str
    gender: Gender
    birth_year: int
    education: EducationLevel
    occupation_code: str = strawberry.field(description="Occupation sought.")
    skill_level: int | None
    district_code: str
    registered_on: datetime.date
    left_on: datetime.date | None = strawberry.field(description="Null while still seeking.")

    @strawberry.field
    async def occupation(self, info: strawberry.Info) -> Occupation | None:
        return await join_value(info, self)


@strawberry.type(description="A skills-training program.")
class TrainingProgram:
    id: strawberry.Private[int]
    code: str
    name: str
    occupation_code: str
    provider: str
    provider_uscc: str | None
    seats: int
    skill_level: int | None
    district_code: str
    starts_on: datetime.date
    ends_on: datetime.date

    @strawberry.field
    async def occupation(self, info: strawberry.Info) -> Occupation | None:
        return await join_value(info, self)


@strawberry.type(description="A vocational skill-level certificate.")
class SkillCertificate:
    id: int
    certificate_no: str
    seeker_id: int
    occupation_code: str
    skill_level: int
    issued_on: datetime.date

    @strawberry.field
    async def occupation(self, info: strawberry.Info) -> Occupation | None:
        return await join_value(info, self)


@strawberry.type(description="A modern apprenticeship between an enterprise and (optionally) a school.")
class Apprenticeship:
    id: strawberry.Private[int]
    code: str
    enterprise_uscc: str
    occupation_code: str
    school_code: str | None
    apprentices: int
    starts_on: datetime.date
    ends_on: datetime.date | None

    @strawberry.field
    async def enterprise(self, info: strawberry.Info) -> Annotated["Enterprise", strawberry.lazy("resolvers.commerce.types")] | None:
        return await join_value(info, self)

    @strawberry.field
    async def occupation(self, info: strawberry.Info) -> Occupation | None:
        return await join_value(info, self)


@strawberry.type
class OccupationConnection(Connection[Occupation]):
    pass


@strawberry.type
class JobPostingConnection(Connection[JobPosting]):
    pass


@strawberry.type
class JobSeekerConnection(Connection[JobSeeker]):
    pass


@strawberry.type
class TrainingProgramConnection(Connection[TrainingProgram]):
    pass


@strawberry.type
class SkillCertificateConnection(Connection[SkillCertificate]):
    pass


@strawberry.type
class ApprenticeshipConnection(Connection[Apprenticeship]):
    pass


occupation_from_row = row_converter(Occupation)
posting_from_row = row_converter(JobPosting)
seeker_from_row = row_converter(JobSeeker)
training_program_from_row = row_converter(TrainingProgram)
certificate_from_row = row_converter(SkillCertificate)
apprenticeship_from_row = row_converter(Apprenticeship)
