-- Statistics refresh: every teacher count (per school and year, and the city's), for the disclosure protection.
select year, school_code, teachers, dual, public_teachers, public_dual
from hub.stat_plan_teachers
order by year, school_code nulls first
