-- The designations of a school's major, keyed by the major's internal id (DesignationsByMajorLoader), by year.
select m.id as major_id, d.id, d.school_code, d.major_code, d.kind, d.year
from education.majors m
join education.major_designations d on d.school_code = m.school_code and d.major_code = m.code
where m.id = any($1::bigint[])
order by m.id, d.year, d.kind
