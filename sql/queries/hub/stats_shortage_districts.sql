-- The $3 districts with the largest positive annual gap (demand - supply) of each occupation in $2, year $1,
-- chosen and ordered by the published (perturbed) supply for every reader; both supplies are returned.
select t.occupation_code, t.district_code, d.name as district_name, t.demand, t.supply, t.public_supply
from (
    select s.occupation_code, s.district_code, s.demand, s.supply, s.public_supply,
           row_number() over (partition by s.occupation_code
                              order by s.demand - s.public_supply desc, s.district_code) as n
    from hub.stat_supply_demand s
    where s.year = $1 and s.dims = 3 and s.occupation_code = any($2::text[]) and s.demand > s.public_supply
) t
left join hub.districts d on d.code = t.district_code
where t.n <= $3
order by t.occupation_code, t.n
