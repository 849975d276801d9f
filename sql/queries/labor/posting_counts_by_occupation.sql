-- Number of job postings per occupation code (PostingCountByOccupationLoader).
select occupation_code, count(*)::int as n
from labor.job_postings
where occupation_code = any($1::text[])
group by occupation_code
