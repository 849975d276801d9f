-- Job seekers by id (SeekerByIdLoader).
select id, name, id_number, phone, gender, birth_year, education, occupation_code, skill_level, district_code, registered_on, left_on
from labor.job_seekers
where id = any($1::bigint[])
