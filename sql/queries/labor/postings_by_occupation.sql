-- First N job postings per occupation code (PostingsByOccupationLoader), optional district, skill level, dates.
select p.*
from unnest($1::text[]) as k(code)
cross join lateral (
    select id, title, enterprise_uscc, occupation_code, headcount, wage_min, wage_max, education, skill_level, district_code, posted_on, closes_on
    from labor.job_postings
    where occupation_code = k.code
      and id > $2
      and ($4::text is null or district_code = $4)
      and ($5::smallint is null or skill_level = $5)
      and ($6::date is null or posted_on >= $6)
      and ($7::date is null or posted_on <= $7)
    order by id
    limit $3
) p
