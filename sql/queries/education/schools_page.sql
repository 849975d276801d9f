-- A page of schools: keyset on id; optional district, kind, name search.
select id, code, name, kind, district_code
from education.schools
where id > $1
  and ($3::text is null or district_code = $3)
  and ($4::text is null or kind = $4)
  and ($5::text is null or name ilike $5)
order by id
limit $2
