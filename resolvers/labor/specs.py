"""Batch specs of labor's join fields (see hub.api.specs)."""

from __future__ import annotations

from hub.api.specs import ByKey, Page
from resolvers.commerce.loaders import EnterpriseByUsccLoader
from resolvers.labor.loaders import (
    OccupationByCodeLoader,
    PostingCountByOccupationLoader,
    PostingsByOccupationLoader,
    SeekersByOccupationLoader,
    TrainingProgramsByOccupationLoader,
)
from resolvers.labor.types import (
    JobPostingConnection,
    JobSeekerConnection,
    TrainingProgramConnection,
    posting_from_row,
    seeker_from_row,
    training_program_from_row,
)

OCCUPATION_POSTINGS = Page("Occupation", "postings", loader=PostingsByOccupationLoader, key="code",
                           filters=("district", "skill_level", "posted_from", "posted_to"),
                           connection=JobPostingConnection, convert=posting_from_row)
OCCUPATION_POSTING_COUNT = ByKey("Occupation", "postingCount", loader=PostingCountByOccupationLoader, key="code")
OCCUPATION_SEEKERS = Page("Occupation", "seekers", loader=SeekersByOccupationLoader, key="code", filters=("district",),
                          connection=JobSeekerConnection, convert=seeker_from_row)
OCCUPATION_TRAINING = Page("Occupation", "trainingPrograms", loader=TrainingProgramsByOccupationLoader, key="code",
                           connection=TrainingProgramConnection, convert=training_program_from_row)
for _type in ("JobPosting", "Apprenticeship"):
    ByKey(_type, "enterprise", loader=EnterpriseByUsccLoader, key="enterprise_uscc")
for _type in ("JobPosting", "JobSeeker", "TrainingProgram", "SkillCertificate", "Apprenticeship"):
    ByKey(_type, "occupation", loader=OccupationByCodeLoader, key="occupation_code")
