-- Every school's offering of each catalog major code (MajorsByCodeLoader), in school-code order.
select id, code, name, school_code
from education.majors
where code = any($1::text[])
order by code, school_code
