-- A page of training programs: keyset on id; optional district, occupation-code prefix, dates.
select id, code, name, occupation_code, provider, provider_uscc, seats, skill_level, district_code, starts_on, ends_on
from labor.training_programs
where id > $1
  and ($3::text is null or district_code = $3)
  and ($4::text is null or occupation_code like $4)
  and ($5::date is null or ends_on >= $5)
  and ($6::date is null or starts_on <= $6)
order by id
limit $2
