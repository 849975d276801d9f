-- Statistics refresh: yearly outcomes of every school's major, with the school and its district.
select o.year, m.code as major_code, m.name as major_name, s.code as school_code, s.name as school_name,
       s.district_code, o.enrollment, o.graduates, o.employed
from education.major_outcomes o
join education.majors m on m.id = o.major_id
join education.schools s on s.code = m.school_code
