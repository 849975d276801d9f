"""labor root fields. Each is answered through its spec (``hub.api.specs``), shared with the compiled path."""

from __future__ import annotations

import datetime

import strawberry

from hub.api.pagination import like_contains, like_prefix
from hub.api.specs import RootByKey, RootPage
from resolvers.labor.loaders import OccupationByCodeLoader, PostingByIdLoader
from resolvers.labor.types import (
    ApprenticeshipConnection,
    EducationLevel,
    JobPosting,
    JobPostingConnection,
    JobSeekerConnection,
    Occupation,
    OccupationConnection,
    SkillCertificateConnection,
    TrainingProgramConnection,
    apprenticeship_from_row,
    certificate_from_row,
    occupation_from_row,
    posting_from_row,
    seeker_from_row,
    training_program_from_row,
)

OCCUPATIONS = RootPage("occupations", dept="labor", query="labor/occupations_page",
                       params=(("code_prefix", like_prefix), ("search", like_contains), ("major_group", None)),
                       connection=OccupationConnection, convert=occupation_from_row)
JOB_POSTINGS = RootPage("jobPostings", dept="labor", query="labor/postings_page",
                        params=(("district", None), ("occupation_code_prefix", like_prefix), ("enterprise_uscc", None),
                                ("skill_level", None), ("posted_from", None), ("posted_to", None), ("education", None)),
                        connection=JobPostingConnection, convert=posting_from_row)
JOB_SEEKERS = RootPage("jobSeekers", dept="labor", query="labor/seekers_page",
                       params=(("district", None), ("occupation_code_prefix", like_prefix), ("skill_level", None),
                               ("registered_from", None), ("registered_to", None), ("search", like_contains)),
                       connection=JobSeekerConnection, convert=seeker_from_row)
TRAINING_PROGRAMS = RootPage("trainingPrograms", dept="labor", query="labor/training_programs_page",
                             params=(("district", None), ("occupation_code_prefix", like_prefix),
                                     ("running_from", None), ("running_to", None)),
                             connection=TrainingProgramConnection, convert=training_program_from_row)
SKILL_CERTIFICATES = RootPage("skillCertificates", dept="labor", query="labor/certificates_page",
                              params=(("occupation_code_prefix", like_prefix), ("skill_level", None),
                                      ("issued_from", None), ("issued_to", None)),
                              connection=SkillCertificateConnection, convert=certificate_from_row)
APPRENTICESHIPS = RootPage("apprenticeships", dept="labor", query="labor/apprenticeships_page",
                           params=(("enterprise_uscc", None), ("occupation_code_prefix", like_prefix),
                                   ("school_code", None)),
                           connection=ApprenticeshipConnection, convert=apprenticeship_from_row)
OCCUPATION = RootByKey("occupation", loader=OccupationByCodeLoader, argument="code")
JOB_POSTING = RootByKey("jobPosting", loader=PostingByIdLoader, argument="id")


@strawberry.type
class LaborQuery:
    @strawberry.field(description="Occupations, filtered by code prefix (e.g. \"6-18\"), name or major group.")
    async def occupations(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                          code_prefix: str | None = None, search: str | None = None,
                          major_group: int | None = None) -> OccupationConnection | None:
        return await OCCUPATIONS.fetch(info.context, locals())

    @strawberry.field(description="An occupation by code; null when unknown.")
    async def occupation(self, info: strawberry.Info, code: str) -> Occupation | None:
        return await OCCUPATION.fetch(info.context, locals())

    @strawberry.field(description="Job postings (demand), filtered by district, occupation-code prefix, "
                                  "enterprise, skill level, posting dates and education.")
    async def job_postings(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                           district: str | None = None, occupation_code_prefix: str | None = None,
                           enterprise_uscc: str | None = None, skill_level: int | None = None,
                           posted_from: datetime.date | None = None, posted_to: datetime.date | None = None,
                           education: EducationLevel | None = None) -> JobPostingConnection | None:
        return await JOB_POSTINGS.fetch(info.context, locals())

    @strawberry.field(description="A job posting by id; null when unknown.")
    async def job_posting(self, info: strawberry.Info, id: int) -> JobPosting | None:
        return await JOB_POSTING.fetch(info.context, locals())

    @strawberry.field(description="Job seekers (supply), filtered by district, occupation-code prefix, skill "
                                  "level, registration dates and name.")
    async def job_seekers(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                          district: str | None = None, occupation_code_prefix: str | None = None,
                          skill_level: int | None = None, registered_from: datetime.date | None = None,
                          registered_to: datetime.date | None = None,
                          search: str | None = None) -> JobSeekerConnection | None:
        return await JOB_SEEKERS.fetch(info.context, locals())

    @strawberry.field(description="Training programs, filtered by district, occupation-code prefix and the "
                                  "period they run in.")
    async def training_programs(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                                district: str | None = None, occupation_code_prefix: str | None = None,
                                running_from: datetime.date | None = None,
                                running_to: datetime.date | None = None) -> TrainingProgramConnection | None:
        return await TRAINING_PROGRAMS.fetch(info.context, locals())

    @strawberry.field(description="Skill certificates, filtered by occupation-code prefix, level and issue dates.")
    async def skill_certificates(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                                 occupation_code_prefix: str | None = None, skill_level: int | None = None,
                                 issued_from: datetime.date | None = None,
                                 issued_to: datetime.date | None = None) -> SkillCertificateConnection | None:
        return await SKILL_CERTIFICATES.fetch(info.context, locals())

    @strawberry.field(description="Apprenticeships, filtered by enterprise, occupation-code prefix and school.")
    async def apprenticeships(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                              enterprise_uscc: str | None = None, occupation_code_prefix: str | None = None,
                              school_code: str | None = None) -> ApprenticeshipConnection | None:
        return await APPRENTICESHIPS.fetch(info.context, locals())
