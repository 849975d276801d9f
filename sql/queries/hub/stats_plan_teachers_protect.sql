-- Statistics refresh: show a school's (null: the city's) teacher counts of year $1 at another value the ptable
-- allows, so that no count of 1-2 persons can be determined (hub.disclosure.protect_teachers).
update hub.stat_plan_teachers
set public_teachers = $3, public_dual = $4
where year = $1 and school_code is not distinct from $2
