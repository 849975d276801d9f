-- The designations of each school (SchoolDesignationsBySchoolLoader), by year.
select id, school_code, kind, year
from education.school_designations
where school_code = any($1::text[])
order by school_code, year, kind
