-- A page of major investment projects, optional park and start dates.
select id, code, name, enterprise_uscc, park_code, amount_wan, starts_on
from commerce.investment_projects
where id > $1
  and ($3::text is null or park_code = $3)
  and ($4::date is null or starts_on >= $4)
  and ($5::date is null or starts_on <= $5)
order by id
limit $2
