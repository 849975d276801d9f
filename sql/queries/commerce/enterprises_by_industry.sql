-- First N enterprises per industry, this industry and below it (EnterprisesByIndustryLoader).
-- A section letter covers its divisions' codes; a numeric code covers the codes it prefixes.
select k.code as parent_code, e.*
from unnest($1::text[]) as k(code)
cross join lateral (
    select e.id, e.uscc, e.name, e.industry_code, e.district_code, e.size, e.founded_on, e.integration,
           e.integration_certified_year
    from commerce.enterprises e
    where e.industry_code like any (
            case when k.code ~ '^[A-T]$'
                 then array(select c.code || '%' from commerce.industries c where c.parent_code = k.code)
                 else array[k.code || '%'] end)
      and e.id > $2
      and ($4::text is null or e.district_code = $4)
    order by e.id
    limit $3
) e
