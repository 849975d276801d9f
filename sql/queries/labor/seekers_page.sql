-- A page of job seekers: keyset on id; optional district, occupation-code prefix, skill level,
-- registration-date range, name search.
select id, name, id_number, phone, gender, birth_year, education, occupation_code, skill_level, district_code, registered_on, left_on
from labor.job_seekers
where id > $1
  and ($3::text is null or district_code = $3)
  and ($4::text is null or occupation_code like $4)
  and ($5::smallint is null or skill_level = $5)
  and ($6::date is null or registered_on >= $6)
  and ($7::date is null or registered_on <= $7)
  and ($8::text is null or name ilike $8)
order by id
limit $2
