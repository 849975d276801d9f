-- The $3 districts with the largest positive annual gap (demand - supply) of each occupation in $2, year $1.
select t.occupation_code, t.district_code, d.name as district_name, t.demand, t.supply, t.persons,
       t.demand - t.supply as gap, (t.demand::numeric / nullif(t.supply, 0))::float8 as ratio
from (
    select s.occupation_code, s.district_code, s.demand, s.supply, s.persons,
           row_number() over (partition by s.occupation_code
                              order by s.demand - s.supply desc, s.district_code) as n
    from hub.stat_supply_demand s
    where s.year = $1 and s.dims = 3 and s.occupation_code = any($2::text[]) and s.demand > s.supply
) t
left join hub.districts d on d.code = t.district_code
where t.n <= $3
order by t.occupation_code, t.n
