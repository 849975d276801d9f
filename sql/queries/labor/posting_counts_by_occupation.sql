-- Number of job postings per occupation code (PostingCountByOccupationLoader): the sum of the deltas the
-- triggers of migration 0012 append; an occupation without rows has none.
select occupation_code, sum(n)::int as n
from labor.occupation_posting_counts
where occupation_code = any($1::text[])
group by occupation_code
