-- First N job seekers per occupation sought (SeekersByOccupationLoader), optional district.
select s.*
from unnest($1::text[]) as k(code)
cross join lateral (
    select id, name, id_number, phone, gender, birth_year, education, occupation_code, skill_level, district_code, registered_on, left_on
    from labor.job_seekers
    where occupation_code = k.code and id > $2
      and ($4::text is null or district_code = $4)
    order by id
    limit $3
) s
