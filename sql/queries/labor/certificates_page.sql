-- A page of skill certificates: keyset on id; optional occupation-code prefix, level, issue dates.
select id, certificate_no, seeker_id, occupation_code, skill_level, issued_on
from labor.skill_certificates
where id > $1
  and ($3::text is null or occupation_code like $3)
  and ($4::smallint is null or skill_level = $4)
  and ($5::date is null or issued_on >= $5)
  and ($6::date is null or issued_on <= $6)
order by id
limit $2
