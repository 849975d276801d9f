-- A page of major designations: keyset on id; optional kind, school, major code.
select id, school_code, major_code, kind, year
from education.major_designations
where id > $1
  and ($3::text is null or kind = $3)
  and ($4::text is null or school_code = $4)
  and ($5::text is null or major_code = $5)
order by id
limit $2
