-- Majors offered by each school code (MajorsBySchoolLoader), in major-code order.
select id, code, name, school_code
from education.majors
where school_code = any($1::text[])
order by school_code, code
