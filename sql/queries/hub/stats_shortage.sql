-- Shortage occupations of year $1 (DESIGN.md "Policy outputs"): job-to-applicant ratio >= $2 in at least $3
-- of the year's quarters and annual demand >= $4, ranked by annual gap (ties by code), with the rank the
-- occupation had on year $1 - 1's list and its quarterly figures; the first $5 (null: all).
with quarters as (
    select year, occupation_code, quarter, demand, supply
    from hub.stat_supply_demand
    where dims = 17 and year in ($1, $1 - 1)
), met as (
    select year, occupation_code,
           count(*) filter (where supply > 0 and demand >= $2::numeric * supply) as quarters_met
    from quarters
    group by year, occupation_code
), ranked as (
    select a.year, a.occupation_code, a.demand, a.supply, a.persons, m.quarters_met,
           row_number() over (partition by a.year order by a.demand - a.supply desc, a.occupation_code) as rank
    from hub.stat_supply_demand a
    join met m on m.year = a.year and m.occupation_code = a.occupation_code
    where a.dims = 1 and a.year in ($1, $1 - 1) and m.quarters_met >= $3 and a.demand >= $4
)
select r.rank, p.rank as previous_rank, r.occupation_code, o.name as occupation_name, r.quarters_met,
       r.demand, r.supply, r.persons, r.demand - r.supply as gap,
       (r.demand::numeric / nullif(r.supply, 0))::float8 as ratio,
       (select json_agg(json_build_object(
                    'quarter', q.quarter, 'demand', q.demand, 'supply', q.supply, 'gap', q.demand - q.supply,
                    'ratio', (q.demand::numeric / nullif(q.supply, 0))::float8,
                    'met', q.supply > 0 and q.demand >= $2::numeric * q.supply) order by q.quarter)
        from quarters q
        where q.year = $1 and q.occupation_code = r.occupation_code)::text as quarters
from ranked r
left join ranked p on p.year = $1 - 1 and p.occupation_code = r.occupation_code
left join hub.stat_occupations o on o.code = r.occupation_code
where r.year = $1
order by r.rank
limit $5
