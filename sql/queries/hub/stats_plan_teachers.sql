-- The plan's teacher counts: the city's of every year up to $1 and each school's of year $1 (school_code null: the
-- city), exact and as non-owners see them.
select year, school_code, school_name, district_code, teachers, dual, public_teachers, public_dual
from hub.stat_plan_teachers
where (school_code is null and year <= $1) or year = $1
order by year, school_code nulls first
