-- Schools by 10-digit school code (SchoolByCodeLoader).
select id, code, name, kind, district_code
from education.schools
where code = any($1::text[])
