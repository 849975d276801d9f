"""labor root fields."""

from __future__ import annotations

import datetime

import strawberry

from hub.pagination import build_connection, like_contains, like_prefix
from resolvers.labor.loaders import OccupationByCodeLoader, PostingByIdLoader
from resolvers.labor.types import (
    ApprenticeshipConnection, EducationLevel, JobPosting, JobPostingConnection, JobSeekerConnection, Occupation,
    OccupationConnection, SkillCertificateConnection, TrainingProgramConnection, apprenticeship_from_row,
    certificate_from_row, occupation_from_row, posting_from_row, seeker_from_row, training_program_from_row,
)


@strawberry.type
class LaborQuery:
    @strawberry.field(description="Occupations, filtered by code prefix (e.g. \"6-18\"), name or major group.")
    async def occupations(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                          code_prefix: str | None = None, search: str | None = None,
                          major_group: int | None = None) -> OccupationConnection | None:
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.labor.fetch("labor/occupations_page", page.after_id, page.fetch,
                                        like_prefix(code_prefix), like_contains(search), major_group)
        return build_connection(OccupationConnection, rows, page, occupation_from_row)

    @strawberry.field(description="An occupation by code; null when unknown.")
    async def occupation(self, info: strawberry.Info, code: str) -> Occupation | None:
        return await info.context.loader(OccupationByCodeLoader).load(code)

    @strawberry.field(description="Job postings (demand), filtered by district, occupation-code prefix, "
                                  "enterprise, skill level, posting dates and education.")
    async def job_postings(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                           district: str | None = None, occupation_code_prefix: str | None = None,
                           enterprise_uscc: str | None = None, skill_level: int | None = None,
                           posted_from: datetime.date | None = None, posted_to: datetime.date | None = None,
                           education: EducationLevel | None = None) -> JobPostingConnection | None:
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.labor.fetch(
            "labor/postings_page", page.after_id, page.fetch, district, like_prefix(occupation_code_prefix),
            enterprise_uscc, skill_level, posted_from, posted_to, education.value if education else None)
        return build_connection(JobPostingConnection, rows, page, posting_from_row)

    @strawberry.field(description="A job posting by id; null when unknown.")
    async def job_posting(self, info: strawberry.Info, id: int) -> JobPosting | None:
        return await info.context.loader(PostingByIdLoader).load(id)

    @strawberry.field(description="Job seekers (supply), filtered by district, occupation-code prefix, skill "
                                  "level, registration dates and name.")
    async def job_seekers(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                          district: str | None = None, occupation_code_prefix: str | None = None,
                          skill_level: int | None = None, registered_from: datetime.date | None = None,
                          registered_to: datetime.date | None = None,
                          search: str | None = None) -> JobSeekerConnection | None:
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.labor.fetch(
            "labor/seekers_page", page.after_id, page.fetch, district, like_prefix(occupation_code_prefix),
            skill_level, registered_from, registered_to, like_contains(search))
        return build_connection(JobSeekerConnection, rows, page, seeker_from_row)

    @strawberry.field(description="Training programs, filtered by district, occupation-code prefix and the "
                                  "period they run in.")
    async def training_programs(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                                district: str | None = None, occupation_code_prefix: str | None = None,
                                running_from: datetime.date | None = None,
                                running_to: datetime.date | None = None) -> TrainingProgramConnection | None:
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.labor.fetch(
            "labor/training_programs_page", page.after_id, page.fetch, district, like_prefix(occupation_code_prefix),
            running_from, running_to)
        return build_connection(TrainingProgramConnection, rows, page, training_program_from_row)

    @strawberry.field(description="Skill certificates, filtered by occupation-code prefix, level and issue dates.")
    async def skill_certificates(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                                 occupation_code_prefix: str | None = None, skill_level: int | None = None,
                                 issued_from: datetime.date | None = None,
                                 issued_to: datetime.date | None = None) -> SkillCertificateConnection | None:
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.labor.fetch("labor/certificates_page", page.after_id, page.fetch,
                                        like_prefix(occupation_code_prefix), skill_level, issued_from, issued_to)
        return build_connection(SkillCertificateConnection, rows, page, certificate_from_row)

    @strawberry.field(description="Apprenticeships, filtered by enterprise, occupation-code prefix and school.")
    async def apprenticeships(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                              enterprise_uscc: str | None = None, occupation_code_prefix: str | None = None,
                              school_code: str | None = None) -> ApprenticeshipConnection | None:
        ctx = info.context
        page = ctx.page(first, after)
        rows = await ctx.db.labor.fetch("labor/apprenticeships_page", page.after_id, page.fetch,
                                        enterprise_uscc, like_prefix(occupation_code_prefix), school_code)
        return build_connection(ApprenticeshipConnection, rows, page, apprenticeship_from_row)
