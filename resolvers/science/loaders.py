"""science DataLoaders: one statement per batch on the science pool."""

from __future__ import annotations

from hub.api.loaders import ByKeyLoader, ManyByKeyLoader, PageByKeyLoader, row_converter
from resolvers.science.types import ResearchProject, TechTransfer


class ResearchProjectByCodeLoader(ByKeyLoader):
    dept, query, key_column = "science", "science/research_projects_by_code", "code"
    convert = staticmethod(row_converter(ResearchProject))


class ResearchProjectsByLeadEnterpriseLoader(PageByKeyLoader):
    """Keys: (lead enterprise USCC, fetch, after id)."""

    dept, query, key_column = "science", "science/research_projects_by_lead_enterprise", "lead_enterprise_uscc"


class ResearchProjectsByPartnerSchoolLoader(PageByKeyLoader):
    """Keys: (partner school code, fetch, after id)."""

    dept, query, key_column = "science", "science/research_projects_by_partner_school", "partner_school_code"


class TechTransfersByProjectLoader(ManyByKeyLoader):
    dept, query, key_column = "science", "science/tech_transfers_by_project", "project_code"
    convert = staticmethod(row_converter(TechTransfer))
