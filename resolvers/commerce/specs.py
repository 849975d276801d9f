"""Batch specs of commerce's join fields (see hub.api.specs): one batch per nesting level in the compiled path."""

from __future__ import annotations

from hub.api.specs import ByKey, Custom, Many, Page
from resolvers.commerce.loaders import (
    EnterpriseByUsccLoader,
    EnterprisesByIndustryLoader,
    IndustriesByParentLoader,
    IndustryByCodeLoader,
    InvestmentProjectsByEnterpriseLoader,
    ParkByCodeLoader,
)
from resolvers.commerce.types import EnterpriseConnection, enterprise_from_row
from resolvers.education.loaders import MajorsByIndustryLoader
from resolvers.labor.loaders import PostingsByEnterpriseLoader
from resolvers.labor.types import JobPostingConnection, posting_from_row
from resolvers.science.loaders import ResearchProjectsByLeadEnterpriseLoader
from resolvers.science.types import ResearchProjectConnection, research_project_from_row


async def industry_majors(ctx, parents, args):
    """Industry.majors: numeric codes by prefix in one batch; a section through its divisions."""
    sections = [p for p in parents if p.level == 1]
    divisions = {}
    if sections:
        lists = await ctx.loader(IndustriesByParentLoader).batch_load_fn([p.code for p in sections])
        divisions = {p.code: [d.code for d in ds] for p, ds in zip(sections, lists)}
    codes = list(dict.fromkeys([p.code for p in parents if p.level > 1]
                               + [c for ds in divisions.values() for c in ds]))
    majors = dict(zip(codes, await ctx.loader(MajorsByIndustryLoader).batch_load_fn(codes))) if codes else {}
    out = []
    for p in parents:
        if p.level > 1:
            out.append(majors.get(p.code, []))
            continue
        seen, merged = set(), []
        for code in divisions.get(p.code, []):
            for m in majors.get(code, []):
                if m.id not in seen:
                    seen.add(m.id)
                    merged.append(m)
        out.append(merged)
    return out


INDUSTRY_PARENT = ByKey("Industry", "parent", loader=IndustryByCodeLoader, key="parent_code")
INDUSTRY_CHILDREN = Many("Industry", "children", loader=IndustriesByParentLoader, key="code")
INDUSTRY_ENTERPRISES = Page("Industry", "enterprises", loader=EnterprisesByIndustryLoader, key="code",
                            filters=("district",), connection=EnterpriseConnection, convert=enterprise_from_row)
INDUSTRY_MAJORS = Custom("Industry", "majors", fn=industry_majors)
ENTERPRISE_INDUSTRY = ByKey("Enterprise", "industry", loader=IndustryByCodeLoader, key="industry_code")
ENTERPRISE_POSTINGS = Page("Enterprise", "postings", loader=PostingsByEnterpriseLoader, key="uscc",
                           connection=JobPostingConnection, convert=posting_from_row)
ENTERPRISE_RESEARCH = Page("Enterprise", "researchProjects", loader=ResearchProjectsByLeadEnterpriseLoader, key="uscc",
                           connection=ResearchProjectConnection, convert=research_project_from_row)
ENTERPRISE_INVESTMENTS = Many("Enterprise", "investmentProjects", loader=InvestmentProjectsByEnterpriseLoader,
                              key="uscc")
INVESTMENT_ENTERPRISE = ByKey("InvestmentProject", "enterprise", loader=EnterpriseByUsccLoader, key="enterprise_uscc")
INVESTMENT_PARK = ByKey("InvestmentProject", "park", loader=ParkByCodeLoader, key="park_code")
