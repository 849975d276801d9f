-- First N job postings per enterprise (PostingsByEnterpriseLoader).
select p.*
from unnest($1::text[]) as k(uscc)
cross join lateral (
    select id, title, enterprise_uscc, occupation_code, headcount, wage_min, wage_max, education, skill_level, district_code, posted_on, closes_on
    from labor.job_postings
    where enterprise_uscc = k.uscc and id > $2
    order by id
    limit $3
) p
