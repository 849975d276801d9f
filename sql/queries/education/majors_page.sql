-- A page of majors (school offerings): keyset on id; optional code prefix (LIKE pattern), school, name search.
select id, code, name, school_code
from education.majors
where id > $1
  and ($3::text is null or code like $3)
  and ($4::text is null or school_code = $4)
  and ($5::text is null or name ilike $5)
order by id
limit $2
