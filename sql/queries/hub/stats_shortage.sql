-- Shortage occupations of year $1 (docs/design.md, "Published figures"): job-to-applicant ratio >= $2 in at least $3
-- of the year's quarters and annual demand >= $4, ranked by annual gap (ties by code), with the rank the
-- occupation had on year $1 - 1's list and its quarterly figures; the first $5 (null: all).
-- The list is the public one for every reader: quarters met, membership and rank are computed from the
-- published (perturbed) supply (cell-key method, 0015_cell_key.sql). Both supplies are returned: the exact one
-- (supply) is shown to the owner of the seekers only.
with met as (
    select year, occupation_code,
           count(*) filter (where public_supply > 0 and demand >= $2::numeric * public_supply) as quarters_met
    from hub.stat_supply_demand
    where dims = 17 and year in ($1, $1 - 1)
    group by year, occupation_code
), ranked as (
    select a.year, a.occupation_code, a.demand, a.supply, a.public_supply, m.quarters_met,
           row_number() over (partition by a.year order by a.demand - a.public_supply desc, a.occupation_code)
               as rank
    from hub.stat_supply_demand a
    join met m on m.year = a.year and m.occupation_code = a.occupation_code
    where a.dims = 1 and a.year in ($1, $1 - 1) and m.quarters_met >= $3 and a.demand >= $4
), listed as (  -- one row per occupation on year $1's list, with its rank on the previous year's
    select occupation_code,
           min(rank) filter (where year = $1) as rank,
           min(rank) filter (where year = $1 - 1) as previous_rank,
           min(quarters_met) filter (where year = $1) as quarters_met,
           min(demand) filter (where year = $1) as demand,
           min(supply) filter (where year = $1) as supply,
           min(public_supply) filter (where year = $1) as public_supply
    from ranked
    group by occupation_code
    having count(*) filter (where year = $1) > 0
    order by 2
    limit $5
)
select l.rank, l.previous_rank, l.occupation_code,
       (select o.name from hub.stat_occupations o where o.code = l.occupation_code) as occupation_name,
       l.quarters_met, l.demand, l.supply, l.public_supply,
       (select json_agg(json_build_object(
                    'quarter', q.quarter, 'demand', q.demand, 'supply', q.supply, 'publicSupply', q.public_supply,
                    'met', q.public_supply > 0 and q.demand >= $2::numeric * q.public_supply) order by q.quarter)
        from hub.stat_supply_demand q
        where q.year = $1 and q.dims = 17 and q.occupation_code = l.occupation_code)::text as quarters
from listed l
order by l.rank
