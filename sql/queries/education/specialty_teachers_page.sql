-- A page of specialty teachers: keyset on id; optional school, major (the specialty taught), dual-qualified flag,
-- name search (a PERSONAL field: only readers who see names in clear may use it, hub.governance.access).
select id, staff_no, name, school_code, major_code, dual_qualified, dual_qualified_since, hired_on, left_on
from education.specialty_teachers
where id > $1
  and ($3::text is null or school_code = $3)
  and ($4::text is null or major_code = $4)
  and ($5::boolean is null or dual_qualified = $5)
  and ($6::text is null or name ilike $6)
order by id
limit $2
