-- A page of enterprises: keyset on id; optional district, industry-code prefix, name search, founding dates.
select id, uscc, name, industry_code, district_code, size, founded_on, integration, integration_certified_year
from commerce.enterprises
where id > $1
  and ($3::text is null or district_code = $3)
  and ($4::text is null or industry_code like $4)
  and ($5::text is null or name ilike $5)
  and ($6::date is null or founded_on >= $6)
  and ($7::date is null or founded_on <= $7)
  and ($8::text is null or size = $8)
order by id
limit $2
