-- The occupation codes on year $1's shortage list (as stats_shortage, from the published supply: ratio >= $2 in
-- at least $3 quarters, annual demand >= $4).
select a.occupation_code
from hub.stat_supply_demand a
join (
    select occupation_code
    from hub.stat_supply_demand
    where year = $1 and dims = 17
    group by occupation_code
    having count(*) filter (where public_supply > 0 and demand >= $2::numeric * public_supply) >= $3
) m on m.occupation_code = a.occupation_code
where a.year = $1 and a.dims = 1 and a.demand >= $4
order by a.occupation_code
