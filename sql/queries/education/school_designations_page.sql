-- A page of school designations: keyset on id; optional kind.
select id, school_code, kind, year
from education.school_designations
where id > $1
  and ($3::text is null or kind = $3)
order by id
limit $2
