-- A page of job postings: keyset on id; optional district, occupation-code prefix, enterprise,
-- skill level, posting-date range, education.
select id, title, enterprise_uscc, occupation_code, headcount, wage_min, wage_max, education, skill_level, district_code, posted_on, closes_on
from labor.job_postings
where id > $1
  and ($3::text is null or district_code = $3)
  and ($4::text is null or occupation_code like $4)
  and ($5::text is null or enterprise_uscc = $5)
  and ($6::smallint is null or skill_level = $6)
  and ($7::date is null or posted_on >= $7)
  and ($8::date is null or posted_on <= $8)
  and ($9::text is null or education = $9)
order by id
limit $2
