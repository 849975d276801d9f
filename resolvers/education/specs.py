"""Batch specs of education's join fields (see hub.api.specs)."""

from __future__ import annotations

from hub.api.spec_helpers import via_codes
from hub.api.specs import ByKey, Custom, Many, Page
from resolvers.commerce.loaders import IndustryByCodeLoader
from resolvers.education.loaders import (
    IndustryCodesByMajorLoader,
    MajorsBySchoolLoader,
    OccupationCodesByMajorLoader,
    OutcomesByMajorLoader,
    SchoolByCodeLoader,
)
from resolvers.labor.loaders import OccupationByCodeLoader
from resolvers.science.loaders import ResearchProjectsByPartnerSchoolLoader
from resolvers.science.types import ResearchProjectConnection, research_project_from_row

Many("School", "majors", loader=MajorsBySchoolLoader, key="code")
SCHOOL_RESEARCH = Page("School", "researchProjects", loader=ResearchProjectsByPartnerSchoolLoader, key="code",
                       connection=ResearchProjectConnection, convert=research_project_from_row)
ByKey("Major", "school", loader=SchoolByCodeLoader, key="school_code")
Many("Major", "outcomes", loader=OutcomesByMajorLoader, key="id")
Custom("Major", "industries",
       fn=lambda ctx, parents, args: via_codes(ctx, parents, "code", IndustryCodesByMajorLoader, IndustryByCodeLoader))
Custom("Major", "occupations",
       fn=lambda ctx, parents, args: via_codes(ctx, parents, "code", OccupationCodesByMajorLoader,
                                               OccupationByCodeLoader))
