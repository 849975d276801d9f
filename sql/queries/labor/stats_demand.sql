-- Statistics refresh: demand per year, quarter, occupation, district, skill level and enterprise. A posting
-- counts with its whole headcount in every quarter that [posted_on, closes_on] meets (closes_on null: open
-- until the end of the horizon year $1).
select (q / 4)::smallint as year, (q % 4 + 1)::smallint as quarter, p.occupation_code, p.district_code,
       p.skill_level, p.enterprise_uscc, sum(p.headcount)::bigint as demand
from labor.job_postings p
cross join lateral generate_series(
    extract(year from p.posted_on)::int * 4 + (extract(month from p.posted_on)::int - 1) / 3,
    extract(year from coalesce(p.closes_on, make_date($1, 12, 31)))::int * 4
        + (extract(month from coalesce(p.closes_on, make_date($1, 12, 31)))::int - 1) / 3) as q
group by 1, 2, 3, 4, 5, 6
