-- A page of research projects: keyset on id; optional field, industry-code prefix (LIKE pattern),
-- lead enterprise, partner school, start dates, title search.
select id, code, title, lead_enterprise_uscc, partner_school_code, industry_code, field, budget_wan,
       starts_on, ends_on
from science.research_projects
where id > $1
  and ($3::text is null or field = $3)
  and ($4::text is null or industry_code like $4)
  and ($5::text is null or lead_enterprise_uscc = $5)
  and ($6::text is null or partner_school_code = $6)
  and ($7::date is null or starts_on >= $7)
  and ($8::date is null or starts_on <= $8)
  and ($9::text is null or title ilike $9)
order by id
limit $2
