-- First N research projects per lead enterprise USCC after a cursor (ResearchProjectsByLeadEnterpriseLoader).
select p.*
from unnest($1::text[]) as k(uscc)
cross join lateral (
    select p.id, p.code, p.title, p.lead_enterprise_uscc, p.partner_school_code, p.industry_code, p.field,
           p.budget_wan, p.starts_on, p.ends_on
    from science.research_projects p
    where p.lead_enterprise_uscc = k.uscc
      and p.id > $2
    order by p.id
    limit $3
) p
