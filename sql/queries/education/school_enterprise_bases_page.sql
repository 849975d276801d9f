-- A page of school-enterprise bases: keyset on id; optional kind, school, partner enterprise.
select id, code, name, kind, school_code, enterprise_uscc, established_year
from education.school_enterprise_bases
where id > $1
  and ($3::text is null or kind = $3)
  and ($4::text is null or school_code = $4)
  and ($5::text is null or enterprise_uscc = $5)
order by id
limit $2
