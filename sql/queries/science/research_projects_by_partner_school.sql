-- First N research projects per partner school code after a cursor (ResearchProjectsByPartnerSchoolLoader).
select p.*
from unnest($1::text[]) as k(school_code)
cross join lateral (
    select p.id, p.code, p.title, p.lead_enterprise_uscc, p.partner_school_code, p.industry_code, p.field,
           p.budget_wan, p.starts_on, p.ends_on
    from science.research_projects p
    where p.partner_school_code = k.school_code
      and p.id > $2
    order by p.id
    limit $3
) p
