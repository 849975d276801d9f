"""Batch specs of science's join fields (see hub.api.specs)."""

from __future__ import annotations

from hub.api.specs import ByKey, Many
from resolvers.commerce.loaders import EnterpriseByUsccLoader, IndustryByCodeLoader
from resolvers.education.loaders import SchoolByCodeLoader
from resolvers.science.loaders import ResearchProjectByCodeLoader, TechTransfersByProjectLoader

ByKey("ResearchProject", "leadEnterprise", loader=EnterpriseByUsccLoader, key="lead_enterprise_uscc")
ByKey("ResearchProject", "partnerSchool", loader=SchoolByCodeLoader, key="partner_school_code")
ByKey("ResearchProject", "industry", loader=IndustryByCodeLoader, key="industry_code")
Many("ResearchProject", "transfers", loader=TechTransfersByProjectLoader, key="code")
ByKey("TechTransfer", "project", loader=ResearchProjectByCodeLoader, key="project_code")
ByKey("TechTransfer", "buyer", loader=EnterpriseByUsccLoader, key="buyer_uscc")
ByKey("InnovationPlatform", "hostEnterprise", loader=EnterpriseByUsccLoader, key="host_uscc")
ByKey("InnovationPlatform", "hostSchool", loader=SchoolByCodeLoader, key="host_school_code")
