-- School-enterprise bases per school code (BasesBySchoolLoader), oldest first.
select id, code, name, kind, school_code, enterprise_uscc, established_year
from education.school_enterprise_bases
where school_code = any($1::text[])
order by school_code, established_year, id
