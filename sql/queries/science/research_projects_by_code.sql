-- Research projects by project code (ResearchProjectByCodeLoader).
select id, code, title, lead_enterprise_uscc, partner_school_code, industry_code, field, budget_wan,
       starts_on, ends_on
from science.research_projects
where code = any($1::text[])
