-- A page of apprenticeships: keyset on id; optional enterprise, occupation-code prefix, school.
select id, code, enterprise_uscc, occupation_code, school_code, apprentices, starts_on, ends_on
from labor.apprenticeships
where id > $1
  and ($3::text is null or enterprise_uscc = $3)
  and ($4::text is null or occupation_code like $4)
  and ($5::text is null or school_code = $5)
order by id
limit $2
