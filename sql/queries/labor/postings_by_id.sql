-- Job postings by id (PostingByIdLoader).
select id, title, enterprise_uscc, occupation_code, headcount, wage_min, wage_max, education, skill_level, district_code, posted_on, closes_on
from labor.job_postings
where id = any($1::bigint[])
